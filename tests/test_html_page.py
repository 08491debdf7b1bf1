"""chainrule explain --format html: one self-contained page, checked in a real (headless) Chromium.

The browser loads the page from a file with the network offline and no host resolving; the test reads
the DOM through the DevTools protocol (tests/browser.py). It skips only where no Chromium is installed.
"""

import io
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser import Browser, find_chromium

import chainrule as cr
from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[1]

# Section 3.1 as explain prints it (the recitation's numbers to 8 digits): each line's quantity and its last number.
SECTION_3_1 = {
    "a[1]": "5", "a[2]": "3", "a[3]": "2",
    "z[1]": "0.9999092", "z[2]": "0.99505475", "z[3]": "0.96402758",
    "yhat": "4.9180739", "loss": "1.8395037", "dl/dyhat": "1.9180739",
    "dl/dbeta[0]": "1.9180739", "dl/dbeta[1]": "1.9178997", "dl/dbeta[2]": "1.9085885", "dl/dbeta[3]": "1.8490761",
    "dl/dz[1]": "1.9180739", "dl/dz[2]": "3.8361477", "dl/dz[3]": "3.8361477",
    "dz[1]/da[1]": "0.00018158323", "dz[2]/da[2]": "0.0098660372", "dz[3]/da[3]": "0.070650825",
    "dl/da[1]": "0.00034829005", "dl/da[2]": "0.037847576", "dl/da[3]": "0.271027",
    "dl/dalpha[1,0]": "0.00034829005", "dl/dalpha[1,1]": "0.00034829005", "dl/dalpha[1,2]": "0.0006965801",
    "dl/dalpha[2,0]": "0.037847576", "dl/dalpha[2,1]": "0.037847576", "dl/dalpha[2,2]": "0.075695152",
    "dl/dalpha[3,0]": "0.271027", "dl/dalpha[3,1]": "0.271027", "dl/dalpha[3,2]": "0.542054",
}  # fmt: skip


class _Strict(HTMLParser):
    """Collects tags, and every attribute that could make a request."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "data")]


def recitation_page(tmp_path) -> Path:
    out = tmp_path / "page.html"
    assert main(["explain", "--format", "html", "-o", str(out)]) == 0
    return out


def test_page_is_self_contained_and_repr_html_is_the_same_page(tmp_path):
    html = recitation_page(tmp_path).read_text(encoding="utf-8")
    p = _Strict()
    p.feed(html)
    assert p.tags.count("svg") == 1 and "math" in p.tags and "script" in p.tags
    assert [u for u in p.urls if not u.startswith("#")] == []  # nothing to fetch
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    net = cr.Sequential(
        cr.Linear.from_folded([[0, 1, 2], [2, 1, 0], [0, 2, 0]]),
        cr.Tanh(),
        cr.Linear.from_folded([[0, 1, 2, 2]]),
        cr.Identity(),
    )
    frame = cr.explain(net, [1, 2], 3)._repr_html_()  # Jupyter: the same page, in an iframe of its own
    assert frame.startswith("<iframe srcdoc=") and unescape(re.search(r'srcdoc="([^"]*)"', frame)[1]) == html


def _png_pixels(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if find_chromium() is None:
        pytest.skip(
            "no Chromium found, or CHROMIUM=none (.ci/run sets it when the one installed does not start); "
            "Debian: apt-get install chromium (.ci/run installs it where it can)"
        )
    with Browser.start(tmp_path_factory.mktemp("chromium-profile")) as b:
        yield b


def test_chromium_none_means_no_browser(monkeypatch):
    """.ci/run sets CHROMIUM=none when the installed Chromium does not start: the browser tests then skip
    (with a message) instead of failing CI."""
    monkeypatch.setenv("CHROMIUM", "none")
    assert find_chromium() is None


def _text(s: str) -> str:
    return re.sub(r"\s+", "", s or "")


def test_recitation_page_in_chromium(tmp_path, browser):
    page = recitation_page(tmp_path)
    browser.open(page)
    assert browser.eval("document.querySelectorAll('#picture svg [data-qid]').length") > 20
    lines = browser.eval("[...document.querySelectorAll('tr.line')].map(l => [l.dataset.qid, l.textContent])")
    text = {q: _text(t) for q, t in lines}
    for qid, number in SECTION_3_1.items():  # every number of section 3.1, on its own line, as printed
        assert text[qid].endswith(("=" + number, "≈" + number)), (qid, text[qid])  # ≈: on rounded operands

    browser.click('#picture [data-qid="z[1]"]')  # the node z₁ lights the line z₁ = tanh(a₁) = …
    on = browser.eval("[...document.querySelectorAll('tr.line.on')].map(l => l.dataset.qid)")
    assert "z[1]" in on and text["z[1]"].startswith("z1=tanh(a1)=tanh(5)=")
    assert browser.eval("""document.querySelector('#picture [data-qid="z[1]"]').classList.contains('on')""")
    # the lines that compute the node (a₁, z₁, ∂ℓ/∂z₁, ∂z₁/∂a₁, ∂ℓ/∂a₁) and the one that reads it (∂ℓ/∂β₁ = … · z₁)
    assert on == ["a[1]", "z[1]", "dl/dbeta[1]", "dl/dz[1]", "dz[1]/da[1]", "dl/da[1]"]
    browser.click('#picture [data-qid="alpha[1,2]"]')  # an edge: the line that reads the weight, its gradient
    on = browser.eval("[...document.querySelectorAll('tr.line.on')].map(l => l.dataset.qid)")
    assert on == ["alpha", "a[1]", "dl/dalpha[1,2]"]

    n = len(lines)
    for _ in range(n + 2):  # forward, then backward, one line at a time; stops at the last
        browser.click("#next")
    current = browser.eval("[...document.querySelectorAll('tr.line.current')].map(l => l.dataset.qid)")
    assert current == ["dl/dalpha[3,2]"]
    assert browser.eval("document.getElementById('where').textContent") == f"step {n} of {n} (backward)"
    lit = browser.eval("[...document.querySelectorAll('#picture .on')].map(g => g.dataset.qid)")
    assert sorted(lit) == ["alpha[3,2]", "x[2]"]  # the weight's edge and the input it multiplies
    browser.click("#prev")
    assert browser.eval("document.querySelector('tr.line.current').dataset.qid") == "dl/dalpha[3,1]"

    browser.eval("window.scrollTo(0, 0)")
    pixels = _png_pixels(browser.screenshot())
    assert pixels.shape[0] > 500 and pixels.shape[1] > 800
    ink = (pixels[..., :3] < 0.9).any(axis=-1).mean()
    assert 0.01 < ink < 0.6, ink  # text and a picture, not a blank (or black) page
    assert browser.requests == [page.resolve().as_uri()]  # the page itself, nothing else
    assert browser.errors == []


def test_conv_page_lights_each_window_forward_then_backward(tmp_path, browser):
    out = tmp_path / "conv.html"
    x, f = "[[2,3,-1,2],[4,1,0,1],[-2,1,3,2],[-1,-2,0,5]]", "[[1,0,1],[-1,0,-1],[1,0,1]]"
    assert main(["conv", "--input", x, "--kernel", f, "--backward", "--format", "html", "-o", str(out)]) == 0
    browser.open(out)
    qids = browser.eval("[...document.querySelectorAll('tr.line')].map(l => l.dataset.qid)")
    for _ in range(qids.index("Y[1,2]") + 1):
        browser.click("#next")
    lit = browser.eval("[...document.querySelectorAll('#picture td.on')].map(c => c.dataset.qid)")
    window = {f"X[1,{i},{j}]" for i in (1, 2, 3) for j in (2, 3, 4)}  # rows 1-3, columns 2-4, as printed
    assert {q for q in lit if q.startswith("X")} == window and "Y[1,1,2]" in lit and len(lit) == 9 + 9 + 1
    assert browser.eval("""document.querySelector('#picture td[data-qid="Y[1,1,2]"]').textContent""") == "6"
    for _ in range(len(qids)):
        browser.click("#next")
    assert browser.eval("document.querySelector('tr.line.current').dataset.phase") == "backward"
    browser.click('#picture td[data-qid="X[1,2,2]"]')  # an input cell lights every line that reads it
    on = browser.eval("[...document.querySelectorAll('tr.line.on')].map(l => l.dataset.qid)")
    assert {"Y[1,1]", "Y[1,2]", "Y[2,1]", "Y[2,2]", "dl/dF[1,1]", "dl/dX[2,2]"} <= set(on)
    assert browser.requests == [out.resolve().as_uri()] and browser.errors == []


@pytest.mark.parametrize("spec", ["recitation-3.1.toml", "deep.toml", "softmax-classifier.toml", "logistic.toml"])
def test_picture_and_derivation_name_the_same_quantities(tmp_path, spec):
    """Each line of the derivation (but y, which has no node) lights a part of the picture, and each node
    and edge of the picture lights a line: the picture's qids are the document's."""
    out = tmp_path / "page.html"
    assert main(["explain", str(ROOT / "examples" / spec), "--format", "html", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    lines = dict(re.findall(r'<tr class="line" data-qid="([^"]*)" data-items="([^"]*)"', html))
    parts = set(re.findall(r'<g class="(?:node|edge)[^"]*" data-qid="([^"]*)"', html))
    assert {q for q, items in lines.items() if not items} <= {"y"}
    named = {unescape(i) for items in lines.values() for i in items.split()}
    assert {unescape(p) for p in parts} == named
