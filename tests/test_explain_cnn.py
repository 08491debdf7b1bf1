"""Whole CNNs in ``chainrule explain``: the JSON equals PyTorch's values and gradients (float64), every
layer, and ``--lr`` gives PyTorch's SGD step; the section-4.2(a) convolution example; clear refusals."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from oracle import RTOL_NETWORK, assert_close, torch_loss

import chainrule as cr
from chainrule.interop.torch import to_torch
from chainrule.nn import AvgPool2d, Conv2d, Flatten, MaxPool2d

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ACTS = [cr.ReLU, cr.Tanh, cr.Sigmoid]


def random_cnn(seed: int):
    """A small random CNN, an input image, a target and a loss (the acceptance test's ranges)."""
    rng = np.random.default_rng(seed)
    C, H, W = int(rng.integers(1, 4)), int(rng.integers(4, 9)), int(rng.integers(4, 9))
    layers, shape = [], (C, H, W)

    def add(layer):
        nonlocal shape
        layers.append(layer)
        shape = layer.output_shape(shape)

    for _ in range(int(rng.integers(1, 3))):
        k = int(rng.integers(1, 4))
        if min(shape[1:]) < k:
            break
        pad = int(rng.integers(0, 2))
        add(Conv2d(shape[0], int(rng.integers(1, 4)), k, stride=int(rng.integers(1, 3)), padding=pad, rng=rng))
        add(ACTS[int(rng.integers(0, 3))]())
        if min(shape[1:]) >= 2:
            pool = MaxPool2d if rng.random() < 0.5 else AvgPool2d
            add(pool(2, stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 2))))
    add(Flatten())
    if rng.random() < 0.5:
        add(cr.Linear(shape[0], int(rng.integers(2, 5)), rng=rng))
        add(ACTS[int(rng.integers(0, 3))]())
    classes = int(rng.integers(2, 4))
    add(cr.Linear(shape[0], classes, rng=rng))
    x = rng.normal(size=(C, H, W))
    if seed % 2:
        return cr.Sequential(*layers), x, int(rng.integers(0, classes)), cr.CrossEntropyLoss()
    loss = cr.SquaredError() if seed % 4 == 0 else cr.MSELoss()
    return cr.Sequential(*layers), x, rng.normal(size=classes), loss


def torch_pass(net, x, y, loss, lr):
    """PyTorch's output, input gradient, parameter gradients of every layer, and its SGD step (eval mode,
    as explain runs: BatchNorm by its running statistics)."""
    tnet = to_torch(net).eval()
    xt = torch.tensor(x[None], requires_grad=True)
    outs, h = [], xt
    for layer in tnet:
        h = layer(h)
        h.retain_grad()
        outs.append(h)
    target = np.asarray([y]) if np.ndim(y) == 0 else np.asarray(y)[None]
    torch_loss(loss, h, target).backward()
    grads = {k: p.grad.numpy().copy() for k, p in tnet.named_parameters()}
    torch.optim.SGD(tnet.parameters(), lr=lr).step()
    updated = {k: p.detach().numpy().copy() for k, p in tnet.named_parameters()}
    return [o.detach().numpy()[0] for o in outs], [o.grad.numpy()[0] for o in outs], xt.grad.numpy()[0], grads, updated


N_RANDOM = 40


@pytest.mark.parametrize("seed", range(N_RANDOM))
def test_random_cnn_json_equals_pytorch(seed):
    net, x, y, loss = random_cnn(seed)
    lr = 0.05
    d = json.loads(cr.explain(net, x, y, loss, lr=lr).to_json())
    outs, gouts, gx, grads, updated = torch_pass(net, x, y, loss, lr)
    assert [e["type"] for e in d["layers"]] == [type(m).__name__ for m in net.layers]
    for i, e in enumerate(d["layers"]):
        where = f"layer {i} ({e['type']})"
        assert_close(e["output"], outs[i], RTOL_NETWORK, f"{where} output")
        assert_close(e["grad_output"], gouts[i], RTOL_NETWORK, f"{where} grad_output")
        assert_close(e["grad_input"], gx if i == 0 else gouts[i - 1], RTOL_NETWORK, f"{where} grad_input")
        for name, p in e["params"].items():
            assert_close(p["grad"], grads[f"{i}.{name}"], RTOL_NETWORK, f"{where} {name}.grad")
            assert_close(p["updated"], updated[f"{i}.{name}"], RTOL_NETWORK, f"{where} {name} after SGD")
    assert {f"{e['index']}.{n}" for e in d["layers"] for n in e["params"]} == set(grads)


def _plain(text: str) -> str:
    """One minus sign and no brackets around a negative factor, whichever the number style prints."""
    return re.sub(r"\((-[0-9.]+)\)", r"\1", text.replace("−", "-"))


def test_section_4_2a_convolution_prints_y_with_its_four_sums(capsys):
    from chainrule.cli import main

    assert main(["explain", str(EXAMPLES / "recitation-4.2a.toml")]) == 0
    out = _plain(capsys.readouterr().out)
    sums = {  # the recitation's four sums, its products in the same order
        "Y₁,₁": ("-2", "1 · 2 + 0 · 3 + 1 · -1"),
        "Y₁,₂": ("6", "1 · 3 + 0 · -1 + 1 · 2"),
        "Y₂,₁": ("2", "1 · 4 + 0 · 1 + 1 · 0"),
        "Y₂,₂": ("2", "1 · 1 + 0 · 0 + 1 · 1"),
    }
    for name, (value, first_row) in sums.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " ="))
        assert line.endswith(f"= {value}") and f"({first_row})" in line and line.count("·") == 9, line
    assert main(["explain", str(EXAMPLES / "recitation-4.2a.toml"), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["layers"][0]["type"] == "Conv2d" and d["layers"][0]["output"] == [[[-2.0, 6.0], [2.0, 2.0]]]
    assert d["layers"][0]["params"]["bias"]["value"] == [0.0]


def test_cells_limits_the_worked_cells_not_the_json():
    net, x, y, loss = random_cnn(2)
    few, many = cr.explain(net, x, y, loss, cells=1), cr.explain(net, x, y, loss, cells=100)
    assert "more cells" in few.to_text() and "more cells" not in many.to_text()
    assert len(few.to_text()) < len(many.to_text()) and few.to_dict() == many.to_dict()


def test_image_networks_render_in_every_format():
    net, x, y, loss = random_cnn(1)
    e = cr.explain(net, x, y, loss, lr=0.1, steps=2, cells=2)
    for fmt in ("text", "markdown", "latex", "json"):
        assert e.render(fmt)
    assert e.to_latex(standalone=True).count(r"\begin{align*}") == e.to_latex(standalone=True).count(r"\end{align*}")
    assert len(e.to_dict()["step_losses"]) == 2 and e.to_dict()["lr"] == 0.1


def test_dense_network_update_and_updated_weights():
    net = cr.Sequential(
        cr.Linear.from_folded([[0, 1, 2], [2, 1, 0], [0, 2, 0]]), cr.Tanh(), cr.Linear.from_folded([[0, 1, 2, 2]])
    )
    e = cr.explain(net, [1, 2], 3, lr=0.5, steps=3)
    tnet = to_torch(net)  # PyTorch's SGD, three steps on the same example: the loss after each
    opt, xt, losses = torch.optim.SGD(tnet.parameters(), lr=0.5), torch.tensor([1.0, 2.0], dtype=torch.float64), []
    for _ in range(3):
        opt.zero_grad()
        (0.5 * (tnet(xt) - 3) ** 2).sum().backward()
        opt.step()
        losses.append((0.5 * (tnet(xt) - 3) ** 2).sum().item())
    d = e.to_dict()
    dense = [layer for layer in d["layers"] if "weights" in layer]
    for layer in dense:
        w, g = np.asarray(layer["weights"]), np.asarray(layer["grad_weights"])
        np.testing.assert_allclose(layer["updated_weights"], w - 0.5 * g, rtol=1e-15)
    assert_close(d["step_losses"], losses, RTOL_NETWORK, "loss after each SGD step")
    text = _plain(e.to_text())
    assert "α⁺₁,₁ = α₁,₁ - η · ∂ℓ/∂α₁,₁ = 1 - 0.5 · 0.000348" in text and "β⁺₁ = β₁ - η · ∂ℓ/∂β₁" in text
    assert "alpha+[1,1]" in e.document.qids() and "loss@3" in e.document.qids()


@pytest.mark.parametrize(
    "net, x, message",
    [
        (
            cr.Sequential(Conv2d(1, 1, 2), cr.Softmax(), Flatten(), cr.Linear(9, 2)),
            np.ones((4, 4)),
            "layer 1 is Softmax on a map",
        ),
        (cr.Sequential(Conv2d(1, 1, 2), cr.Linear(3, 2)), np.ones((4, 4)), "layer 1 is Linear before Flatten"),
        (cr.Sequential(Conv2d(2, 1, 2), Flatten(), cr.Linear(9, 2)), np.ones((4, 4)), "x has shape (1, 4, 4)"),
        (cr.Sequential(Conv2d(1, 1, 2), Flatten(), cr.Linear(9, 2)), np.ones(16), "explain works on one image"),
    ],
)
def test_what_explain_cannot_write_is_one_line_naming_it(net, x, message):
    with pytest.raises(cr.ChainruleError) as e:
        cr.explain(net, x, [0.0, 1.0])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_max_pool_ties_route_as_pytorch():
    # ReLU zeros whole windows and the input repeats its maximum: the gradient goes to the first one
    conv = Conv2d(1, 1, 1, rng=0)
    conv.weight.data[...], conv.bias.data[...] = 1.0, 0.0
    net = cr.Sequential(conv, cr.ReLU(), MaxPool2d(2, stride=1), Flatten(), cr.Linear(9, 2, rng=1))
    x = np.array([[[1, 1, -2, -2], [1, 1, -2, -3], [3, 0, 3, 1], [0, 3, 1, 3]]], dtype=float)
    d = cr.explain(net, x, 1, cr.CrossEntropyLoss()).to_dict()
    _, gouts, gx, grads, _ = torch_pass(net, x, 1, cr.CrossEntropyLoss(), 0.1)
    assert_close(d["layers"][2]["grad_input"], gouts[1], RTOL_NETWORK, "max-pool routing with ties")
    assert_close(d["layers"][0]["grad_input"], gx, RTOL_NETWORK, "input gradient")
    text = cr.explain(net, x, 1, cr.CrossEntropyLoss(), cells=16).to_text()
    assert "∂ℓ/∂Z₁,₁ = ∂ℓ/∂P₁,₁ = " in text  # the all-ones window: its first cell
    assert "∂ℓ/∂Z₃,₃ = ∂ℓ/∂P₂,₂ + ∂ℓ/∂P₂,₃ + ∂ℓ/∂P₃,₂ + ∂ℓ/∂P₃,₃ = " in text  # first of the tied 3s in four windows
    assert "∂ℓ/∂Z₄,₂ = 0" in text and "∂ℓ/∂Z₄,₄ = 0" in text  # tied, but later in window order


@pytest.mark.parametrize(
    "layer, message",
    [
        ('type = "conv2d"\nweight = [[[[1, 0], [0, 1]]]]\nbias = [0, 1]', "key 'bias': has shape (2,)"),
        ('type = "conv2d"\nweight = [[1, 0], [0, 1]]', "key 'weight': must be a 4-D array"),
        ('type = "conv2d"\nweight = [[[[1, 0], [0, 1]]]]\nkernel_size = 3', "key 'kernel_size': is 3 but 'weight'"),
        ('type = "maxpool2d"\nkernel_size = 2\nweight = [[1]]', "'weight' is for linear, conv2d and batchnorm layers"),
        ("weights = [[0, 1]]\nbias = [1]", "with folded 'weights' the bias is column 0"),
    ],
)
def test_spec_weight_and_bias_in_pytorch_layout_are_checked(layer, message):
    import tomllib

    from chainrule.spec import parse_spec

    data = tomllib.loads(f"input = [1, 3, 3]\n[[layers]]\n{layer}\n")
    with pytest.raises(cr.ChainruleError, match=re.escape(message)):
        parse_spec(data, "net.toml").build()


def test_spec_linear_weight_and_bias():
    from chainrule.spec import parse_spec

    net, _ = parse_spec({"input": 2, "layers": [{"weight": [[1, 2], [3, 4]], "bias": [5, 6]}]}).build()
    np.testing.assert_array_equal(net[0].folded, [[5, 1, 2], [6, 3, 4]])


@pytest.mark.parametrize("steps", ["0", "-1"])
def test_steps_below_one_is_one_line_exit_2(capsys, steps):
    from chainrule.cli import main

    assert main(["explain", "examples/recitation-3.1.toml", "--lr", "0.1", "--steps", steps]) == 2
    err = capsys.readouterr().err  # --steps 0 was accepted silently, against its own "between 1 and 10000"
    assert f"--steps {steps}: must be between 1 and 10000" in err and err.count("\n") == 1, err


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_a_cnn_standalone_latex_compiles(tmp_path):
    """A flattened map wider than amsmath's 10 matrix columns: the limit is raised to the widest matrix."""
    net, x, y, loss = random_cnn(1)
    tex = cr.explain(net, x, y, loss, cells=1).to_latex(standalone=True)
    matrices = re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", tex)
    widest = max(len(row.split("&")) for m in matrices for row in m.split("\\\\"))
    assert widest <= 10 or rf"\setcounter{{MaxMatrixCols}}{{{widest}}}" in tex
    (tmp_path / "cnn.tex").write_text(tex, encoding="utf-8")
    r = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "cnn.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,  # a safety limit only (it takes well under a second); never what decides the result
    )
    assert r.returncode == 0, r.stdout[-2000:]


def test_html_of_a_network_of_image_layers_only_is_one_line_exit_2(capsys):
    from chainrule.cli import main

    # the page draws the dense part's network; with none it was an internal error (AttributeError)
    assert main(["explain", str(EXAMPLES / "recitation-4.2a.toml"), "--format", "html"]) == 2
    err = capsys.readouterr().err
    assert "image layers only" in err and "--format html" in err and err.count("\n") == 1, err
