"""chainrule draw: the recitation's three figures, checked against the network they picture."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "examples" / "recitation-3.1.toml")
CNN = ROOT / "examples" / "conv" / "cnn.toml"
NS = "{http://www.w3.org/2000/svg}"


def draw(tmp_path, *flags, spec=SPEC) -> ET.Element:
    out = tmp_path / "fig.svg"
    assert main(["draw", str(spec), *flags, "-o", str(out)]) == 0
    return ET.fromstring(out.read_bytes())


def groups(svg, cls):
    return {g.get("data-qid"): g for g in svg.iter(NS + "g") if g.get("class", "").split()[0] == cls}


def texts(g) -> list[str]:
    return [t.text for t in g.iter(NS + "text")]


def test_figure1_nodes_edges_and_bias_nodes(tmp_path):
    svg = draw(tmp_path, "--labels", "none")
    nodes = groups(svg, "node")
    assert sorted(nodes) == sorted(["x[0]", "x[1]", "x[2]", "z[0]", "z[1]", "z[2]", "z[3]", "yhat", "loss"])
    assert texts(nodes["x[0]"]) == ["+1", "x₀"] and texts(nodes["z[0]"]) == ["+1", "z₀"]
    assert texts(nodes["z[2]"]) == ["z₂"]
    edges = [g for g in svg.iter(NS + "g") if g.get("class", "").startswith("edge")]
    assert len(edges) == 3 * 3 + 4 + 1  # α: 3 units × (x₀, x₁, x₂); β: z₀…z₃; ŷ → ℓ
    assert all(texts(e) == [] for e in edges)


def test_figure3_weights_and_values(tmp_path):
    svg = draw(tmp_path, "--values")
    edges = groups(svg, "edge")
    alpha = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]
    for j in range(3):
        for i in range(3):
            assert texts(edges[f"alpha[{j + 1},{i}]"]) == [str(alpha[j][i])]
    assert [texts(edges[f"beta[{j}]"]) for j in range(4)] == [["0"], ["1"], ["2"], ["2"]]
    nodes = groups(svg, "node")
    assert texts(nodes["z[1]"])[-1] == "0.99991" and texts(nodes["yhat"])[-1] == "4.91807"
    assert texts(nodes["loss"])[-1] == "1.83950" and texts(nodes["x[2]"])[-1] == "2"


def test_figure2_extended_chain_for_alpha11(tmp_path):
    svg = draw(tmp_path, "--extended", "--wrt", "alpha[1,1]", "--values", "--labels", "none")
    nodes = groups(svg, "node")
    assert {"a[1]", "a[2]", "a[3]", "z[1]", "z[2]", "z[3]"} <= set(nodes)
    lit = {g.get("data-qid") for g in svg.iter(NS + "g") if "lit" in g.get("class", "").split()}
    # the recitation's eq. (6): ∂J/∂ŷ ∂ŷ/∂b ∂b/∂z₁ ∂z₁/∂a₁ ∂a₁/∂α₁,₁, the output split into b and ŷ too
    assert {"b", "yhat"} <= set(nodes)
    assert lit == {"alpha[1,1]", "a[1]", "dz[1]/da[1]", "z[1]", "beta[1]", "b", "dyhat/db", "yhat", "loss"}
    labels = [t for g in svg.iter(NS + "g") if "lit" in g.get("class", "") for t in texts(g)]
    assert {"∂a₁/∂α₁,₁", "∂z₁/∂a₁", "∂b/∂z₁", "∂ŷ/∂b", "∂ℓ/∂ŷ", "0.000182", "1.91807"} <= set(labels)


def test_output_is_deterministic_and_committed_figures_are_current(tmp_path):
    for name, flags in {
        "fig1": ["--labels", "none"],
        "fig3": ["--values"],
        "fig2": ["--extended", "--wrt", "alpha[1,1]", "--values", "--labels", "none"],
    }.items():
        out = tmp_path / f"{name}.svg"
        assert main(["draw", SPEC, *flags, "-o", str(out)]) == 0
        assert out.read_bytes() == (ROOT / "docs" / "figures" / f"recitation-{name}.svg").read_bytes()
    out = tmp_path / "cnn.svg"
    assert main(["draw", str(CNN), "-o", str(out)]) == 0
    assert out.read_bytes() == (ROOT / "docs" / "figures" / "cnn.svg").read_bytes()


@pytest.mark.parametrize(
    "argv, says",
    [
        (["draw", "examples/conv/cnn.toml", "--values"], "dense networks"),
        (["draw", "examples/conv/cnn.toml", "--png"], "give -o FILE"),
        (["draw", SPEC, "--format", "pdf", "-o", "x.png"], "the suffix says png"),
        (["draw", "README.md"], "README.md: expected a network spec"),
        (["draw", SPEC, "--wrt", "alpha[9,9]"], "--wrt 'alpha[9,9]'"),
        (["draw", SPEC, "--input-shape", "5"], "takes 2 input features"),  # was silently ignored
        (["draw", SPEC, "-o", "no/such/folder/fig.svg"], "no such folder"),
        (["draw", "examples/no-such-spec.toml"], "no-such-spec.toml: no such file"),
    ],
)
def test_errors_are_one_line(argv, says):
    p = subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and says in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert re.match(r"chainrule draw: error: ", p.stderr)


def test_cnn_blocks_are_labelled_with_shapes_kernels_strides_and_padding(tmp_path):
    svg = draw(tmp_path, spec=CNN)
    blocks = groups(svg, "block")
    shapes = [texts(g)[-1] for g in blocks.values()]
    assert shapes == ["1×8×8", "4×8×8", "4×4×4", "8×4×4", "8×2×2", "32", "10"]  # each layer's output_shape
    assert [texts(g)[0] for g in blocks.values()] == ["input", "conv1", "pool1", "conv2", "pool2", "flatten", "fc1"]
    words = " ".join(t.text for t in svg.iter(NS + "text"))
    for label in ("conv 3×3", "stride 1, pad 1", "+ relu", "max pool 2×2", "stride 2", "pad same", "linear 32→10"):
        assert label in words
    assert "+ softmax (in the loss)" in words  # the spec's softmax, fused into the cross-entropy


def test_model_file_png_and_pdf(tmp_path):
    from chainrule.cli._load import load_network
    from chainrule.serialize import save_model

    net, extra = load_network(str(CNN))
    model = tmp_path / "cnn.safetensors"
    save_model(model, net, extra)
    for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF")):
        out = tmp_path / f"cnn.{fmt}"
        assert main(["draw", str(model), "-o", str(out)]) == 0
        data = out.read_bytes()
        assert data.startswith(magic)
        assert main(["draw", str(model), "-o", str(out)]) == 0 and out.read_bytes() == data  # deterministic
    png = tmp_path / "fig3.png"
    assert main(["draw", SPEC, "--values", "--png", "-o", str(png)]) == 0
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    svg = draw(tmp_path, "--values")
    assert pixels.shape[:2] == (2 * int(svg.get("height")), 2 * int(svg.get("width")))  # twice the SVG's size
    assert 0.02 < (pixels[..., :3] < 0.8).any(axis=-1).mean() < 0.5  # ink, not a blank page


def test_a_large_network_is_drawn_by_weight(tmp_path):
    spec = tmp_path / "mlp.toml"
    spec.write_text('input = [12]\n[[layers]]\nunits = 16\nactivation = "relu"\n[[layers]]\nunits = 3\n')
    svg = draw(tmp_path, spec=spec)
    edges = [g for g in svg.iter(NS + "g") if g.get("class", "").startswith("edge")]
    assert all(texts(e) == [] for e in edges)  # no labels: colour and width instead
    colours = {ln.get("stroke") for e in edges for ln in e.iter(NS + "line")}
    widths = {ln.get("stroke-width") for e in edges for ln in e.iter(NS + "line")}
    assert {"#2b6cb0", "#c53030"} <= colours and len(widths) > 10


def _label_boxes(svg) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each edge's label and gradient text as a box (DejaVu Sans: a digit is about 0.6 em wide)."""
    out = []
    for g in svg.iter(NS + "g"):
        if g.get("class", "").startswith("edge"):
            for t in g.iter(NS + "text"):
                x, y, size = float(t.get("x")), float(t.get("y")), float(t.get("font-size"))
                w = 0.6 * size * len(t.text)
                out.append((t.text, (x - w / 2, y - size / 2, x + w / 2, y + size / 2)))
    return out


@pytest.mark.parametrize(
    "flags",
    [["--values", "--backward"], ["--extended", "--wrt", "alpha[1,1]", "--values", "--backward"], ["--values"]],
)
def test_edge_labels_do_not_cover_each_other(tmp_path, flags):
    """With --backward each edge carries its weight and its gradient: no two labels may overlap (they did,
    fanned out from x₁ and x₂, when every edge's label sat at the same fraction along it)."""
    svg = draw(tmp_path, *flags)
    boxes = _label_boxes(svg)
    assert len(boxes) >= 13
    notes = [t.text for t in svg.iter(NS + "text") if t.get("text-anchor") == "start"]
    if "--backward" in flags:  # a legend says which number is the gradient
        assert notes[-1] == "blue: forward values; red: ∂ℓ/∂ of each node and weight"
    for k, (s, a) in enumerate(boxes):
        for r, b in boxes[k + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (s, r, a, b)


def test_a_trained_classifier_is_drawn_with_its_loss(tmp_path):
    """A model file records the loss it was trained with: an MLP trained on digits ends in logits and
    cross-entropy, not the squared error the picture assumed for a file without x and y."""
    from chainrule.serialize import save_model

    net = cr.Sequential(cr.Linear(4, 3), cr.Tanh(), cr.Linear(3, 2))
    model = tmp_path / "mlp.safetensors"
    save_model(model, net, {"task": "classification", "loss": "cross-entropy", "input_shape": [4]})
    svg = draw(tmp_path, spec=model)
    heads = [t.text for t in svg.iter(NS + "text")][:4]
    assert heads == ["input", "hidden (tanh)", "output (softmax + loss)", "loss (cross-entropy)"]
    save_model(model, net, {"task": "regression", "loss": "mse", "input_shape": [4]})
    assert [t.text for t in draw(tmp_path, spec=model).iter(NS + "text")][3] == "loss (mse)"


def test_the_three_figures_are_embedded_in_the_readme_and_docs():
    for doc in ("README.md", "docs/explain.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        for k in (1, 2, 3):
            assert f"figures/recitation-fig{k}.svg)" in text, (doc, k)
