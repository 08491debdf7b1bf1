"""Explaining a PyTorch-built network: it is converted (from_torch) and explained like chainrule's own."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.interop.torch import from_torch, load_torch_file

RECITATION = """
import torch
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[1.0, 2], [1, 0], [2, 0]]))
    model[0].bias.copy_(torch.tensor([0.0, 2, 0]))
    model[2].weight.copy_(torch.tensor([[1.0, 2, 2]]))
    model[2].bias.zero_()
x = torch.tensor([1.0, 2.0])
y = 3.0
"""


def recitation_torch():
    ns: dict = {}
    exec(compile(RECITATION, "<recitation>", "exec"), ns)  # the same text the file tests run
    return ns["model"], ns["x"], ns["y"]


def test_explain_accepts_a_pytorch_network_and_tensors():
    tnet, x, y = recitation_torch()
    ours = cr.explain(from_torch(tnet), x.numpy(), y)
    theirs = cr.explain(tnet, x, torch.tensor(y))
    assert theirs.to_text() == ours.to_text()
    assert "4.9180739" in theirs.to_text() and "1.8395037" in theirs.to_text()  # the recitation's ŷ and ℓ
    assert theirs.to_dict() == ours.to_dict()


def test_explain_pytorch_classifier_with_torch_loss():
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 3)).double()
    x, label = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), torch.tensor(2)
    e = cr.explain(tnet, x, label, torch.nn.CrossEntropyLoss())
    ref = cr.explain(from_torch(tnet), x.numpy(), 2, cr.CrossEntropyLoss())
    assert e.to_dict() == ref.to_dict()
    # the explainer's ∂ℓ/∂W are PyTorch's own gradients
    torch.nn.functional.cross_entropy(tnet(x[None]), label[None]).backward()
    for layer, t in zip(e.to_dict()["layers"], (tnet[0], tnet[2]), strict=True):  # folded: [∂b | ∂W]
        g = np.asarray(layer["grad_weights"])
        np.testing.assert_allclose(g[:, 1:], t.weight.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(g[:, 0], t.bias.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_explain_takes_a_batch_of_one_with_its_batched_target():
    # PyTorch code writes one example as x of shape (1, in) and y of shape (1,) or (1, C)
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    x = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    for y, loss in [
        (torch.tensor([1]), torch.nn.CrossEntropyLoss()),
        (torch.tensor([[0.0, 1.0]], dtype=torch.float64), torch.nn.CrossEntropyLoss()),
        (torch.tensor([[0.5, 1.0]], dtype=torch.float64), torch.nn.MSELoss()),
    ]:
        e = cr.explain(tnet, x, y, loss)
        assert e.trace.loss == pytest.approx(loss(tnet(x), y).item(), rel=1e-12)


def test_explain_names_an_unsupported_pytorch_module():
    tnet = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.PReLU(), torch.nn.Linear(2, 1))
    with pytest.raises(cr.ChainruleError, match=r"PyTorch module PReLU at model\[1\] is not supported"):
        cr.explain(tnet, [1.0, 2.0], 0.5)
    with pytest.raises(cr.ChainruleError, match="PyTorch loss L1Loss is not supported"):
        cr.explain(torch.nn.Sequential(torch.nn.Linear(2, 1)), [1.0, 2.0], 0.5, torch.nn.L1Loss())


def test_load_torch_file(tmp_path):
    f = tmp_path / "net.py"
    f.write_text(RECITATION)
    got = load_torch_file(f)
    assert isinstance(got["net"], cr.Sequential) and got["y"] == 3.0 and got["loss"] is None
    np.testing.assert_array_equal(got["x"], [1.0, 2.0])
    np.testing.assert_array_equal(got["net"][0].folded, [[0, 1, 2], [2, 1, 0], [0, 2, 0]])
    e = cr.explain(got["net"], got["x"], got["y"])
    assert "ℓ = ½ (ŷ − y)² = ½ · (4.9180739 − 3)² = 1.8395037" in e.to_text()


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "import torch\nnet = torch.nn.Linear(2, 1)\n",
            r"net\.py: defines no `model` \(it defines the PyTorch "
            r"module\(s\) net\); expected e\.g\. model = ",
        ),
        ("model = [1, 2]\n", r"net\.py: `model` is a list, not a torch\.nn module"),
        (
            "import torch\nmodel = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Hardswish())\n",
            r"net\.py: PyTorch module Hardswish at model\[1\] is not supported",
        ),
        ("raise RuntimeError('boom')\n", r"net\.py: running it raised RuntimeError: boom"),
        ("import sys\nsys.exit(3)\n", r"net\.py: the file called exit\(3\)"),
        (
            "import torch\nmodel = torch.nn.Sequential(torch.nn.Linear(2, 1))\nloss = torch.nn.L1Loss()\n",
            r"net\.py: `loss`: PyTorch loss L1Loss is not supported",
        ),
    ],
)
def test_load_torch_file_errors(tmp_path, text, message):
    f = tmp_path / "net.py"
    f.write_text(text)
    with pytest.raises(cr.ChainruleError, match=message):
        load_torch_file(f)
    with pytest.raises(cr.ChainruleError, match="no such file"):
        load_torch_file(tmp_path / "missing.py")
    with pytest.raises(cr.ChainruleError, match="is a folder"):
        load_torch_file(tmp_path)


def test_cli_explain_torch_file(tmp_path, capsys):
    from chainrule.cli import main

    f = tmp_path / "net.py"
    f.write_text(RECITATION)
    assert main(["explain", "--torch", str(f)]) == 0
    text = capsys.readouterr().out
    assert "ℓ = ½ (ŷ − y)² = ½ · (4.9180739 − 3)² = 1.8395037" in text
    assert main(["explain", "--torch", str(f), "--x", "[0, 1]", "--format", "json"]) == 0
    assert '"loss": 0.005823067' in capsys.readouterr().out  # section 3.2, unrounded
    # a spec and a PyTorch file at once, no target, a layer explain cannot write out: one line each
    g = tmp_path / "cnn.py"
    g.write_text(
        "import torch\nmodel = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 2), torch.nn.Flatten())\n"
        "x = torch.zeros(1, 3, 3)\ny = [0.0] * 4\n"
    )
    h = tmp_path / "noy.py"
    h.write_text(RECITATION.replace("y = 3.0", ""))
    assert main(["explain", "spec.toml", "--torch", str(f)]) == 2
    assert main(["explain", "--torch", str(h)]) == 2
    assert main(["explain", "--torch", str(g)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("chainrule explain: error: ") for line in err)
    assert "not both" in err[0] and "define y in the file or give --y" in err[1] and "cnn.py: " in err[2]
