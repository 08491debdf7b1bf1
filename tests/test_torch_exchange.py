"""chainrule ⇄ PyTorch: round trips keep every weight bitwise and give the same outputs and gradients;
model files load into PyTorch with safetensors; unsupported modules are one clear error."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from oracle import RTOL_NETWORK, assert_close, check_against_torch
from safetensors.torch import load_file

import chainrule as cr
from chainrule.interop.torch import from_torch, to_torch
from chainrule.serialize import load_model, save_model

ACTS = [cr.Tanh, cr.Sigmoid, cr.ReLU, cr.Identity]


def random_mlp(rng, dtype=np.float64, depth=3):
    widths = [int(w) for w in rng.integers(1, 9, size=depth + 1)]
    layers = []
    for i in range(depth):
        layers += [
            cr.Linear(widths[i], widths[i + 1], bias=bool(rng.random() < 0.8), rng=rng, dtype=dtype),
            ACTS[int(rng.integers(len(ACTS)))](),
        ]
    return cr.Sequential(*layers, cr.Softmax())


def assert_same_weights(a, b):
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    assert list(pa) == list(pb)
    for name, p in pa.items():
        q = pb[name]
        q = q.detach().numpy() if isinstance(q, torch.Tensor) else q.data
        assert p.data.dtype == q.dtype and np.array_equal(p.data.view(np.uint8), q.view(np.uint8)), name


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_chainrule_torch_chainrule(seed):
    rng = np.random.default_rng(seed)
    net = random_mlp(rng)
    tnet = to_torch(net)
    assert_same_weights(net, tnet)
    back = from_torch(tnet)
    assert_same_weights(net, back)
    assert [type(m) for m in back] == [type(m) for m in net]
    x, y = rng.normal(size=(5, net[0].in_features)), rng.normal(size=(5, net[-3].out_features))
    check_against_torch(net, x, y, cr.MSELoss(), rtol=1e-10, tmodel=tnet)
    check_against_torch(back, x, y, cr.MSELoss(), rtol=1e-10, tmodel=tnet)
    # the round trip is the same computation: equal to the last bit, not just to 1e-10
    for m in (net, back):
        m.zero_grad()
        m.backward(m.forward(x) - y)
    assert np.array_equal(net.outputs[-1], back.outputs[-1]) and np.array_equal(net.input_grad, back.input_grad)
    for (_, p), (_, q) in zip(net.named_parameters(), back.named_parameters(), strict=True):
        assert np.array_equal(p.grad, q.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pytorch_built_model_converts(dtype):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(
        torch.nn.Linear(4, 6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 5, bias=False),
        torch.nn.Sigmoid(),
        torch.nn.Linear(5, 3),
        torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Identity()),
        torch.nn.Softmax(dim=1),
    ).to(dtype)
    net = from_torch(tnet)
    assert net.dtype == np.dtype(str(dtype).removeprefix("torch."))
    assert_same_weights(net, tnet)
    x = np.random.default_rng(0).normal(size=(7, 4))
    rtol = 1e-10 if dtype == torch.float64 else 1e-5
    check_against_torch(net, x, np.arange(7) % 3, cr.CrossEntropyLoss(), rtol=rtol, tmodel=tnet)


def test_unsupported_pytorch_module_is_named_with_its_position():
    tnet = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Tanh(), torch.nn.PReLU()))
    with pytest.raises(
        cr.ChainruleError,
        match=r"^PyTorch module PReLU at model\[1\]\[1\] is not supported; "
        r"chainrule converts .*Linear",
    ):
        from_torch(tnet)
    with pytest.raises(
        cr.ChainruleError,
        match=r"PyTorch module Linear at model\[0\]: dtype float16 is not "
        "supported; expected float32 or float64",
    ):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2).half()))
    with pytest.raises(cr.ChainruleError, match="model is a str, not a PyTorch module"):
        from_torch("net.pt")


class Doubler(cr.Module):
    def forward(self, x):
        return 2 * x


def test_chainrule_layer_without_pytorch_twin_is_named():
    with pytest.raises(cr.ChainruleError, match=r"^layer model\[1\] \(Doubler\) has no PyTorch equivalent"):
        to_torch(cr.Sequential(cr.Linear(2, 2, rng=0), Doubler()))


def trained_net(rng):
    """A small network trained a few SGD steps, as ``chainrule train`` does it."""
    net = cr.Sequential(cr.Linear(3, 8, rng=rng), cr.ReLU(), cr.Linear(8, 2, rng=rng))
    x, y = rng.normal(size=(32, 3)), (rng.random(32) < 0.5).astype(int)
    opt, loss = cr.SGD(net.parameters(), lr=0.1, momentum=0.9), cr.CrossEntropyLoss()
    for _ in range(20):
        net.zero_grad()
        loss.forward(net.forward(x), y)
        net.backward(loss.backward())
        opt.step()
    return net


def test_model_file_loads_into_pytorch_with_safetensors(tmp_path):
    """The recipe in docs/interop.md: safetensors.torch.load_file + load_state_dict."""
    rng = np.random.default_rng(7)
    net = trained_net(rng)
    save_model(tmp_path / "model.safetensors", net, extra={"note": "trained"})
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
    tnet.load_state_dict(load_file(tmp_path / "model.safetensors"))  # strict: every key, every shape
    assert_same_weights(net, tnet)
    x = rng.normal(size=(4, 3))
    # two libraries' float64 products: equal to a tolerance, never bit for bit (BLAS kernels differ by machine)
    assert_close(net.forward(x), tnet(torch.from_numpy(x)).detach().numpy(), RTOL_NETWORK, "forward output")
    # and back: a PyTorch state dict saved with safetensors.torch loads into a chainrule model file's net
    model, extra = load_model(tmp_path / "model.safetensors")
    assert extra == {"note": "trained"}
    assert_same_weights(model, tnet)


def test_torch_is_optional_and_named_when_missing():
    code = (
        "import sys; sys.modules['torch'] = None; import chainrule as cr; "
        "from chainrule.interop.torch import to_torch; to_torch(cr.Sequential(cr.Linear(1, 1, rng=0)))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "this needs PyTorch: pip install 'chainrule[torch]'" in r.stderr


CNNS = [  # conv kwargs, pooling layer, input H×W
    (dict(kernel_size=3, padding=1), lambda: cr.MaxPool2d(2), (8, 8)),
    (dict(kernel_size=(2, 3), stride=(2, 1), padding="same", dilation=1), lambda: cr.AvgPool2d(2, padding=1), (9, 7)),
    (
        dict(kernel_size=3, padding="same", dilation=2, groups=2, bias=False),
        lambda: cr.MaxPool2d((2, 3), stride=1, padding=1, dilation=(1, 2)),
        (7, 8),
    ),
    (dict(kernel_size=(3, 1), padding="valid", groups=4), lambda: cr.AvgPool2d((3, 2), stride=(1, 2)), (6, 6)),
]


@pytest.mark.parametrize("case", range(len(CNNS)))
def test_cnn_round_trip_keeps_weights_outputs_and_gradients(case):
    conv_kw, pool, hw = CNNS[case]
    rng = np.random.default_rng(50 + case)
    body = cr.Sequential(cr.Conv2d(4, 4, rng=rng, **conv_kw), cr.Tanh(), pool(), cr.Flatten())
    flat = body.forward(np.zeros((1, 4, *hw))).shape[1]
    net = cr.Sequential(*body.layers, cr.Linear(flat, 3, rng=rng))
    tnet = to_torch(net)
    back = from_torch(tnet)
    assert [type(m) for m in back] == [type(m) for m in net]
    assert [m.config() for m in back] == [m.config() for m in net]
    assert_same_weights(net, tnet)
    assert_same_weights(net, back)
    x, y = rng.normal(size=(2, 4, *hw)), np.array([0, 2])
    check_against_torch(back, x, y, cr.CrossEntropyLoss(), rtol=1e-10, tmodel=tnet)


def test_model_from_chainrule_train_loads_into_pytorch(tmp_path):
    """The acceptance case: `chainrule train` writes model.safetensors; PyTorch loads it as it is."""
    pytest.importorskip("chainrule.train.run", reason="`chainrule train` not in this build")
    from chainrule.cli import main

    out = tmp_path / "run"
    assert main(["train", "--hidden", "16", "--epochs", "1", "--out", str(out), "--progress", "lines"]) == 0
    tnet = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 10)).double()
    tnet.load_state_dict(load_file(out / "model.safetensors"))
    net, _ = load_model(out / "model.safetensors")
    assert_same_weights(net, tnet)
    x = np.random.default_rng(0).normal(size=(5, 64))
    np.testing.assert_allclose(tnet(torch.from_numpy(x)).detach().numpy(), net.forward(x), rtol=1e-10, atol=1e-12)
