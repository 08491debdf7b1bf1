"""LeakyReLU, ELU, GELU, SiLU, LogSoftmax and the new losses against PyTorch (float64, 1e-10) and
against finite differences, alone and inside random networks with the older layers."""

import numpy as np
import pytest
from oracle import check_against_torch

import chainrule as cr

NEW_ACTS = [
    lambda: cr.LeakyReLU(0.1),
    lambda: cr.LeakyReLU(0.0),
    lambda: cr.ELU(),
    lambda: cr.ELU(0.4),
    lambda: cr.GELU(),
    lambda: cr.GELU("tanh"),
    cr.SiLU,
    lambda: cr.LogSoftmax(dim=1),
]
ALL_ACTS = [*NEW_ACTS, cr.Tanh, cr.Sigmoid, cr.ReLU]
IDS = ["leaky0.1", "leaky0", "elu", "elu0.4", "gelu", "gelu-tanh", "silu", "logsoftmax"]


def _labels(rng, n, c):
    return rng.integers(0, c, size=n)


def loss_case(name: str, rng, n: int, c: int):
    """(loss, final layer or None, target) for an output of n × c."""
    w = rng.uniform(0.2, 2.0, size=c)
    if name == "nll":
        return cr.NLLLoss(), cr.LogSoftmax(dim=1), _labels(rng, n, c)
    if name == "nll-weighted":
        return cr.NLLLoss(weight=w), cr.LogSoftmax(dim=-1), _labels(rng, n, c)
    if name == "ce-weighted":
        return cr.CrossEntropyLoss(weight=w), None, _labels(rng, n, c)
    if name == "ce-smoothed":
        return cr.CrossEntropyLoss(label_smoothing=0.2), None, _labels(rng, n, c)
    if name == "ce-both":
        return cr.CrossEntropyLoss(weight=w, label_smoothing=0.1), None, _labels(rng, n, c)
    if name == "ce-both-soft":
        p = rng.dirichlet(np.ones(c), size=n)
        return cr.CrossEntropyLoss(weight=w, label_smoothing=0.3), None, p
    if name == "bce":
        return cr.BCELoss(), cr.Sigmoid(), rng.uniform(size=(n, c))
    if name == "bce-weighted":
        return cr.BCELoss(weight=w), cr.Sigmoid(), rng.integers(0, 2, size=(n, c)).astype(float)
    if name == "bce-logits":
        return cr.BCEWithLogitsLoss(), None, rng.uniform(size=(n, c))
    if name == "bce-logits-pos":
        return (
            cr.BCEWithLogitsLoss(weight=w, pos_weight=rng.uniform(0.5, 3, size=c)),
            None,
            rng.integers(0, 2, size=(n, c)).astype(float),
        )
    if name == "huber":
        return cr.HuberLoss(), None, rng.normal(size=(n, c)) * 2
    if name == "huber0.3":
        return cr.HuberLoss(delta=0.3), None, rng.normal(size=(n, c))
    raise KeyError(name)


LOSS_NAMES = [
    "nll",
    "nll-weighted",
    "ce-weighted",
    "ce-smoothed",
    "ce-both",
    "ce-both-soft",
    "bce",
    "bce-weighted",
    "bce-logits",
    "bce-logits-pos",
    "huber",
    "huber0.3",
]


@pytest.mark.parametrize("act", NEW_ACTS, ids=IDS)
def test_each_new_activation_against_torch(act):
    rng = np.random.default_rng(3)
    net = cr.Sequential(cr.Linear(5, 6, rng=rng), act(), cr.Linear(6, 3, rng=rng))
    x = rng.normal(size=(7, 5)) * 3
    check_against_torch(net, x, rng.normal(size=(7, 3)), cr.MSELoss())
    x[0, :] = 0.0  # a = 0 exactly where the weights allow: the one-sided rules take PyTorch's side
    check_against_torch(net, x, rng.normal(size=(7, 3)), cr.MSELoss())


@pytest.mark.parametrize("act", NEW_ACTS, ids=IDS)
def test_each_new_activation_at_zero_and_far_out(act):
    """a = 0 exactly, and |a| large (overflow-prone exp/erf), straight into the layer."""
    import torch

    from chainrule.interop.torch import to_torch

    layer = act()
    a = np.array([[0.0, -0.0, 1e-8, -1e-8, 30.0, -30.0, 800.0, -800.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the right answer
        z = layer.forward(a)
        dx = layer.backward(np.ones_like(a))
    at = torch.tensor(a, requires_grad=True)
    zt = to_torch(layer)(at)
    zt.sum().backward()
    np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(dx, at.grad.numpy(), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_each_new_loss_against_torch(name):
    rng = np.random.default_rng(len(name))
    for n in (1, 6):
        loss, final, y = loss_case(name, rng, n, 4)
        layers = [cr.Linear(3, 5, rng=rng), cr.GELU(), cr.Linear(5, 4, rng=rng)] + ([final] if final else [])
        check_against_torch(cr.Sequential(*layers), rng.normal(size=(n, 3)), y, loss)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_each_new_loss_finite_differences(name):
    rng = np.random.default_rng(100 + len(name))
    loss, final, y = loss_case(name, rng, 3, 4)
    layers = [cr.Linear(3, 4, rng=rng)] + ([final] if final else [])
    report = cr.gradcheck(cr.Sequential(*layers), rng.normal(size=(3, 3)), y, loss)
    assert report.ok(atol=1e-7, rtol=1e-5), str(report)


def test_single_example_losses_against_torch():
    """ŷ of shape (C,) (a batch of one without its axis) with an int label, as the other losses take it."""
    rng = np.random.default_rng(5)
    for loss, final in (
        (cr.NLLLoss(weight=[1.0, 2.0, 0.5]), cr.LogSoftmax()),
        (cr.CrossEntropyLoss(weight=[1.0, 2.0, 0.5], label_smoothing=0.25), None),
    ):
        layers = [cr.Linear(2, 3, rng=rng)] + ([final] if final else [])
        check_against_torch(cr.Sequential(*layers), rng.normal(size=2), 1, loss)


def random_mixed_net(seed: int):
    """A random dense network mixing old and new activations, with a random new or old loss."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    widths = [int(w) for w in rng.integers(2, 12, size=depth + 1)]
    layers = []
    for i in range(depth):
        layers.append(cr.Linear(widths[i], widths[i + 1], bias=bool(rng.integers(2)), rng=rng))
        if i < depth - 1:
            layers.append(ALL_ACTS[int(rng.integers(len(ALL_ACTS)))]())
    n = int(rng.integers(1, 9))
    loss, final, y = loss_case(LOSS_NAMES[seed % len(LOSS_NAMES)], rng, n, widths[-1])
    return cr.Sequential(*layers, *([final] if final else [])), rng.normal(size=(n, widths[0])), y, loss


@pytest.mark.parametrize("seed", range(24))
def test_random_mixed_network_against_torch(seed):
    check_against_torch(*random_mixed_net(seed))


@pytest.mark.parametrize("seed", range(12))
def test_random_mixed_network_finite_differences(seed):
    net, x, y, loss = random_mixed_net(seed)
    report = cr.gradcheck(net, x[:3], y[:3], loss)
    assert report.ok(atol=1e-7, rtol=1e-5), str(report)


def test_bce_with_logits_is_stable_for_huge_logits():
    loss = cr.BCEWithLogitsLoss()
    x = np.array([[1e4, -1e4, 700.0, -700.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(x, np.array([[0.0, 1.0, 1.0, 0.0]]))
        grad = loss.backward()
    assert value == pytest.approx((1e4 + 1e4) / 4)
    np.testing.assert_allclose(grad, [[0.25, -0.25, 0.0, 0.0]], atol=1e-300)


def test_bce_clamps_its_logs_at_minus_100_as_torch():
    value = cr.BCELoss().forward(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
    assert value == pytest.approx(100.0)


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda: cr.LeakyReLU(-0.1), "LeakyReLU: negative_slope must be a finite number ≥ 0, got -0.1"),
        (lambda: cr.LeakyReLU(float("nan")), "LeakyReLU: negative_slope must be a finite number ≥ 0, got nan"),
        (lambda: cr.ELU(alpha=-1), "ELU: alpha must be a finite number ≥ 0, got -1"),
        (lambda: cr.ELU(alpha="1"), "ELU: alpha must be a finite number ≥ 0, got '1'"),
        (lambda: cr.GELU("fast"), "GELU: approximate must be 'none' or 'tanh', got 'fast'"),
        (lambda: cr.LogSoftmax(dim=1.5), "LogSoftmax: dim must be a whole number"),
        (lambda: cr.LogSoftmax(dim=2).forward(np.zeros((2, 3))), "LogSoftmax: dim 2 is out of range"),
        (lambda: cr.HuberLoss(delta=0), "HuberLoss: delta must be a finite number > 0, got 0"),
        (lambda: cr.CrossEntropyLoss(label_smoothing=1.5), "label_smoothing must be in [0, 1], got 1.5"),
        (lambda: cr.CrossEntropyLoss(weight=[1, -1]), "CrossEntropyLoss: weight must be a list of finite numbers ≥ 0"),
        (lambda: cr.CrossEntropyLoss(weight=[1, 2]).forward(np.zeros((1, 3)), [0]), "weight has 2 entries but"),
        (lambda: cr.NLLLoss().forward(np.zeros((2, 3)), np.full((2, 3), 1 / 3)), "NLLLoss takes class labels"),
        (lambda: cr.BCELoss().forward(np.array([1.5]), np.array([1.0])), "BCELoss: the network's outputs must be"),
        (lambda: cr.BCEWithLogitsLoss().forward(np.zeros(2), np.array([0, 3])), "probabilities), got 3"),
        (lambda: cr.BCEWithLogitsLoss(pos_weight=[-1.0]), "BCEWithLogitsLoss: pos_weight must be"),
    ],
)
def test_bad_arguments_are_one_line_errors(make, needle):
    from chainrule.errors import ChainruleError

    with pytest.raises(ChainruleError) as e:
        make()
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_erf_without_scipy_is_the_same_function(monkeypatch):
    import sys

    from chainrule.core.functional import erf

    x = np.linspace(-6, 6, 101)
    with_scipy = erf(x)
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # makes `from scipy.special import erf` fail
    np.testing.assert_allclose(erf(x), with_scipy, rtol=1e-15, atol=1e-300)
    assert erf(np.zeros((0, 2))).shape == (0, 2)


@pytest.mark.parametrize("layer", [cr.LeakyReLU(0.2), cr.ELU(0.5), cr.GELU("tanh"), cr.SiLU(), cr.LogSoftmax(0)])
def test_config_round_trips(layer):
    again = cr.Module.from_config(layer.to_config())
    assert type(again) is type(layer) and again.config() == layer.config()
    assert layer.output_shape((3, 4)) == (3, 4)
