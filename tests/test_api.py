"""Sequential, state dicts, initialisation, optimisers, model files, and the errors users see."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.interop.torch import to_torch
from chainrule.nn.initialize import initialize
from chainrule.serialize import load_model, save_model


def small_net(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cr.Sequential(cr.Linear(2, 3, rng=rng, dtype=dtype), cr.Tanh(), cr.Linear(3, 1, rng=rng, dtype=dtype))


def test_named_parameters_are_pytorchs():
    net = small_net()
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(net.state_dict()) == list(to_torch(net).state_dict())
    assert net[0].weight.shape == (3, 2) and net[0].bias.shape == (3,)
    assert len(net) == 3 and isinstance(net[1], cr.Tanh)


def test_state_dict_round_trip_and_errors():
    a, b = small_net(0), small_net(1)
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert np.array_equal(p.data, q.data)
    state = a.state_dict()
    del state["2.bias"]
    with pytest.raises(cr.ChainruleError, match="missing key.*2.bias"):
        b.load_state_dict(state)
    state = a.state_dict() | {"3.weight": np.zeros(1)}
    with pytest.raises(cr.ChainruleError, match="unexpected key.*3.weight"):
        b.load_state_dict(state)
    state = a.state_dict() | {"0.weight": np.zeros((2, 3))}
    with pytest.raises(cr.ChainruleError, match=r"'0.weight' has shape \(2, 3\); the network expects \(3, 2\)"):
        b.load_state_dict(state)
    state = a.state_dict() | {"0.bias": np.ones(3, complex)}
    with pytest.raises(cr.ChainruleError, match="'0.bias' is not real numbers"):
        b.load_state_dict(state)
    with pytest.raises(cr.ChainruleError, match="maps parameter names"):
        b.load_state_dict(list(a.state_dict().values()))


def test_state_dict_from_torch_parameters():
    # PyTorch's named_parameters() are tensors that require grad; they load like its state_dict()
    a, b = small_net(0), small_net(1)
    b.load_state_dict(dict(to_torch(a).named_parameters()))
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert np.array_equal(p.data, q.data)


def test_linear_sizes_must_be_whole_numbers():
    with pytest.raises(cr.ChainruleError, match="whole numbers"):
        cr.Linear(2.5, 1)  # PyTorch refuses it too; truncating to 2 would hide the mistake
    assert cr.Linear(np.int64(2), 3.0).weight.shape == (3, 2)


def test_folded_form_round_trip_and_shape_error():
    alpha = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]
    layer = cr.Linear.from_folded(alpha)
    assert np.array_equal(layer.folded, alpha)
    assert np.array_equal(layer.bias.data, [0, 2, 0]) and np.array_equal(layer.weight.data[:, 0], [1, 1, 2])
    with pytest.raises(cr.ChainruleError, match=r"must be 3×3 .*got 3×4"):
        layer.folded = np.zeros((3, 4))
    with pytest.raises(cr.ChainruleError, match="rectangular"):
        cr.Linear.from_folded([[1, 2], [3]])


def test_input_errors():
    net = small_net()
    with pytest.raises(cr.ChainruleError, match=r"shape \(3,\): 3 features per example, expected 2"):
        net(np.zeros(3))
    with pytest.raises(cr.ChainruleError, match="nan at index"):
        net(np.array([[1.0, np.nan]]))
    for bad in (None, [1 + 2j, 0], ["1", "2"]):
        with pytest.raises(cr.ChainruleError, match="must be an array of numbers"):
            net(bad)
    np.testing.assert_array_equal(net([1, 2]), net(np.array([1.0, 2.0])))  # ints and lists are fine
    with pytest.raises(cr.ChainruleError, match="class label 5 is out of range for 3 classes"):
        cr.CrossEntropyLoss()(np.zeros((2, 3)), [0, 5])
    with pytest.raises(cr.ChainruleError, match="labels must be integers"):
        cr.CrossEntropyLoss()(np.zeros((2, 3)), [0.5, 1])
    with pytest.raises(cr.ChainruleError, match="share a dtype"):
        cr.Sequential(cr.Linear(2, 2, dtype=np.float32), cr.Linear(2, 2))
    with pytest.raises(cr.ChainruleError, match="float32 or float64"):
        cr.Linear(2, 2, dtype=np.int32)


def test_initialisation_schemes_are_deterministic():
    for scheme in [
        "zeros",
        "uniform",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "default",
    ]:
        a = initialize(small_net(), scheme, rng=42)
        b = initialize(small_net(), scheme, rng=42)
        for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
            assert p.data.tobytes() == q.data.tobytes()
    net = initialize(small_net(), "uniform", rng=0)
    assert np.all(np.abs(net[0].weight.data) <= 0.1) and not net[0].bias.data.any()
    net = initialize(small_net(), "zeros")
    assert not any(p.data.any() for p in net.parameters())
    with pytest.raises(cr.ChainruleError, match="unknown initialisation"):
        initialize(small_net(), "magic")


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {"lr": 0.1}),
        ("SGD", {"lr": 0.1, "momentum": 0.9}),
        ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01}),
        ("Adagrad", {"lr": 0.1}),
        ("Adam", {"lr": 0.01}),
        ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ],
)
def test_optimisers_match_torch(name, kwargs):
    rng = np.random.default_rng(3)
    net = cr.Sequential(cr.Linear(4, 5, rng=rng), cr.Tanh(), cr.Linear(5, 3, rng=rng))
    tnet = to_torch(net)
    ours = getattr(cr, name)(net.parameters(), **kwargs)
    theirs = getattr(torch.optim, name)(tnet.parameters(), **kwargs)
    loss = cr.CrossEntropyLoss()
    for _ in range(5):
        x, y = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)
        ours.zero_grad()
        loss(net(x), y)
        net.backward(loss.backward())
        ours.step()
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(tnet(torch.tensor(x)), torch.tensor(y)).backward()
        theirs.step()
    for name_, p in net.named_parameters():
        np.testing.assert_allclose(
            p.data, dict(tnet.named_parameters())[name_].detach().numpy(), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize(
    "name, kwargs, needle",
    [
        ("SGD", {"lr": float("inf")}, "learning rate"),
        ("SGD", {"lr": 0.1, "momentum": float("nan")}, "momentum"),
        ("Adagrad", {"lr": 0.1, "weight_decay": -1}, "weight_decay"),
        ("Adam", {"lr": 0.1, "weight_decay": -0.5}, "weight_decay"),
        ("Adam", {"lr": 0.1, "betas": (1.5, 0.9)}, r"betas\[0\]"),
        ("Adam", {"lr": 0.1, "eps": -1}, "eps"),
    ],
)
def test_optimisers_refuse_bad_hyperparameters(name, kwargs, needle):
    # as PyTorch does: a NaN, infinite or negative setting is an error, not a run that silently diverges
    with pytest.raises(cr.ChainruleError, match=needle):
        getattr(cr, name)(small_net().parameters(), **kwargs)


def test_model_file_round_trip_and_torch_load(tmp_path):
    from safetensors.torch import load_file

    net = small_net(5, dtype=np.float32)
    path = tmp_path / "m.safetensors"
    save_model(path, net, extra={"note": "hi"})
    back, extra = load_model(path)
    assert extra == {"note": "hi"}
    for (n1, p), (n2, q) in zip(net.named_parameters(), back.named_parameters(), strict=True):
        assert n1 == n2 and p.data.tobytes() == q.data.tobytes() and q.data.dtype == np.float32
    tnet = to_torch(small_net(9, dtype=np.float32))
    tnet.load_state_dict(load_file(str(path)))
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    np.testing.assert_allclose(tnet(torch.tensor(x)).detach().numpy(), net(x), rtol=1e-6)


def test_model_file_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, small_net())
    raw = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(cr.ChainruleError, match="cut.safetensors: not a readable"):
        load_model(tmp_path / "cut.safetensors")
    (tmp_path / "text.safetensors").write_text("hello world, not a model")
    with pytest.raises(cr.ChainruleError, match="not a readable"):
        load_model(tmp_path / "text.safetensors")
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(cr.ChainruleError, match="not a chainrule model"):
        load_model(tmp_path / "plain.safetensors")
    with pytest.raises(cr.ChainruleError, match="No such file"):
        load_model(tmp_path / "missing.safetensors")
    for arch, needle in [
        ('"x"', "damaged"),
        ('{"type": "Quantum"}', "unknown layer type 'Quantum'"),
        ('{"type": "Linear", "size": 3}', "damaged"),
    ]:
        odd = tmp_path / "odd.safetensors"
        save_file({"w": np.zeros(2)}, str(odd), metadata={"chainrule": '{"architecture": ' + arch + "}"})
        with pytest.raises(cr.ChainruleError, match=f"odd.safetensors: .*{needle}"):
            load_model(odd)


def test_gradcheck_refuses_a_zero_step():
    with pytest.raises(cr.ChainruleError, match="eps"):
        cr.gradcheck(small_net(), [1.0, 2.0], 0.5, cr.SquaredError(), eps=0)


def test_gradcheck_report_finds_a_wrong_gradient():
    class Broken(cr.Tanh):
        def derivative(self):
            return 1.1 - self.z * self.z

    rng = np.random.default_rng(0)
    net = cr.Sequential(cr.Linear(3, 4, rng=rng), Broken(), cr.Linear(4, 2, rng=rng))
    report = cr.gradcheck(net, rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), cr.SquaredError())
    assert not report.ok()
    assert report["0.weight"].max_rel > 1e-3 and report["2.weight"].max_abs < 1e-8
    assert "worst index" in str(report)


def test_a_layer_object_used_twice():
    """A reused activation gets its own cache (gradients match PyTorch); reused weights are refused."""
    from oracle import check_against_torch

    rng = np.random.default_rng(4)
    act = cr.Tanh()
    net = cr.Sequential(cr.Linear(3, 4, rng=rng), act, cr.Linear(4, 2, rng=rng), act)
    assert net[1] is not net[3]
    check_against_torch(net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), cr.SquaredError())
    shared = cr.Linear(3, 3, rng=rng)
    with pytest.raises(cr.ChainruleError, match="entries 0 and 2 are the same Linear object"):
        cr.Sequential(shared, cr.ReLU(), shared)


def test_backward_misuse_is_a_clear_error():
    net = small_net()
    with pytest.raises(cr.ChainruleError, match="before forward"):
        net.backward(np.ones((1, 1)))
    net(np.zeros((2, 2)))
    with pytest.raises(cr.ChainruleError, match=r"shape \(3, 1\); the network's last output has shape \(2, 1\)"):
        net.backward(np.ones((3, 1)))


def test_importing_a_submodule_does_not_hide_the_function_of_its_name():
    import importlib

    for name in ("gradcheck", "explain"):
        importlib.import_module(f"chainrule.{name}")
        assert callable(getattr(cr, name)) and not isinstance(getattr(cr, name), type(importlib))


def test_every_public_nn_name_is_defined_in_nn_and_at_the_top():
    import chainrule.nn as nn
    from chainrule._names import NN_NAMES

    for name in NN_NAMES:
        assert getattr(nn, name) is getattr(cr, name), name
