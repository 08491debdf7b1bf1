"""chainrule conv --transpose: every gather line's printed terms sum to its printed value, which is the engine's
(and PyTorch's ConvTranspose2d's) output; the scatter lines name each stamp's window; errors are one line."""

import json
import re

import numpy as np
import pytest
import torch

from chainrule.cli import main
from chainrule.explain.conv_transpose import conv_transpose_worksheet

X = [[1, 2], [3, 4]]
F = [[1, 0, 2], [0, 1, 0], [1, 1, 1]]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_gather_lines_hold_as_printed_and_equal_torch(capsys):
    code, out, _ = run(
        capsys, "conv", "--transpose", "-x", json.dumps(X), "-k", json.dumps(F), "-s", 2, "-p", 1,
        "--output-padding", 1, "-b", "[0.5]",
    )  # fmt: skip
    assert code == 0
    assert "output rows    = (2 − 1) · 2 − 2 · 1 + 1 · (3 − 1) + 1 + 1 = 4" in out
    assert "X₂,₂ = 4 times the kernel is added onto output rows 2-4, columns 2-4" in out
    t = torch.nn.ConvTranspose2d(1, 1, 3, 2, 1, 1, dtype=torch.float64)
    with torch.no_grad():
        t.weight.copy_(torch.tensor([[F]], dtype=torch.float64))
        t.bias.fill_(0.5)
    want = t(torch.tensor([[X]], dtype=torch.float64)).detach().numpy()[0, 0]
    lines = re.findall(r"^Y(\S+) = (.*?) = (\S+)(?:\s{4}.*)?$", out, flags=re.M)
    assert len(lines) == 16
    sub = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
    for idx, rhs, value in lines:
        i, j = (int(v) for v in idx.translate(sub).split(","))
        terms = [t.strip() for t in rhs.split(" + ")]
        total = sum(
            float(a) * float(b) if "·" in t else float(t) for t in terms for a, b in [(t.split(" · ") + [1])[:2]]
        )
        assert total == float(value) == want[i - 1, j - 1]
    assert "Y₂,₂ = 1 · 1 + 2 · 1 + 3 · 2 + 4 · 1 + 0.5 = 13.5" in out


def test_multi_channel_worksheet_matches_the_engine_and_json():
    rng = np.random.default_rng(0)
    x, k = rng.integers(-3, 4, size=(2, 3, 2)), rng.integers(-2, 3, size=(2, 3, 2, 2))
    ws = conv_transpose_worksheet(x, k, stride=(1, 2), dilation=(2, 1))
    t = torch.nn.functional.conv_transpose2d(
        torch.tensor(x[None], dtype=torch.float64), torch.tensor(k, dtype=torch.float64), stride=(1, 2), dilation=(2, 1)
    )
    np.testing.assert_allclose(ws.y, t.numpy()[0], rtol=1e-12)
    for o in range(3):
        for i in range(ws.y.shape[1]):
            for j in range(ws.y.shape[2]):
                assert sum(a * b for a, b, _ in ws.gather_terms(o, i, j)) == pytest.approx(ws.y[o, i, j], abs=1e-12)
    d = json.loads(ws.render("json"))
    assert d["operation"] == "transposed convolution" and np.array(d["output"]).shape == (3, 5, 4)
    assert "Y⁽³⁾" in ws.render("text", max_cells=200) and "more output cells" in ws.render("text", max_cells=4)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--backward"], "--backward does not go with --transpose"),
        (["--format", "html"], "--format html does not go with --transpose"),  # was an internal error
        (["--padding", "same"], "--padding 'same' does not go with --transpose"),
        (["--output-padding", "3", "--stride", "2"], "output_padding (3, 3) must be smaller than the stride"),
        (["--padding", "3"], "removes more than the scatter covers"),
        (["--kernel", "[[[1]],[[2]]]"], "the input has 1 channel(s)"),
    ],
)
def test_bad_input_is_one_line_exit_2(flags, message, capsys):
    argv = ["conv", "--transpose", "-x", json.dumps(X), "-k", json.dumps(F), *flags]
    if "--kernel" in flags:
        argv = ["conv", "--transpose", "-x", json.dumps(X), *flags]
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_output_padding_needs_transpose(capsys):
    code, _, err = run(capsys, "conv", "-x", json.dumps(X), "-k", "[[1]]", "--output-padding", 1)
    assert code == 2 and "--output-padding goes with --transpose" in err
