"""Random dense networks against PyTorch (float64, 1e-10) and against finite differences."""

import numpy as np
import pytest
from oracle import check_against_torch

import chainrule as cr

ACTS = [cr.Tanh, cr.Sigmoid, cr.ReLU, cr.Identity, cr.Softmax]
LOSSES = [cr.SquaredError, cr.MSELoss, cr.CrossEntropyLoss]


def random_case(seed: int, loss_cls=None, bias=None, single=False):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    widths = [int(w) for w in rng.integers(1, 33, size=depth + 1)]
    loss = (loss_cls or LOSSES[seed % len(LOSSES)])()
    if isinstance(loss, cr.CrossEntropyLoss):
        widths[-1] = max(widths[-1], 2)
    layers = []
    for i in range(depth):
        b = bool(rng.integers(2)) if bias is None else bias
        layers.append(cr.Linear(widths[i], widths[i + 1], bias=b, rng=rng))
        if i < depth - 1 or not isinstance(loss, cr.CrossEntropyLoss):
            layers.append(ACTS[int(rng.integers(len(ACTS)))]())
    net = cr.Sequential(*layers)
    n = int(rng.integers(1, 17))
    x = rng.normal(size=(widths[0],) if single else (n, widths[0]))
    shape = x.shape[:-1]
    if isinstance(loss, cr.CrossEntropyLoss):
        if seed % 2:
            y = rng.integers(0, widths[-1], size=shape)
        else:
            y = rng.dirichlet(np.ones(widths[-1]), size=shape or None)
    else:
        y = rng.normal(size=shape + (widths[-1],))
    return net, x, y, loss


@pytest.mark.parametrize("seed", range(60))
def test_random_network_matches_torch(seed):
    net, x, y, loss = random_case(seed)
    check_against_torch(net, x, y, loss)


@pytest.mark.parametrize("loss_cls", LOSSES)
@pytest.mark.parametrize("bias", [True, False])
def test_single_example_matches_torch(loss_cls, bias):
    for seed in range(5):
        net, x, y, loss = random_case(100 + seed, loss_cls, bias, single=True)
        check_against_torch(net, x, y, loss)


@pytest.mark.parametrize("seed", range(20))
def test_random_network_finite_differences(seed):
    net, x, y, loss = random_case(seed)
    # keep the numeric pass cheap: at most 4 examples
    x, y = x[:4], y[:4]
    report = cr.gradcheck(net, x, y, loss)
    assert report.ok(atol=1e-7, rtol=1e-5), str(report)


@pytest.mark.parametrize("act", ACTS)
def test_every_activation_against_torch(act):
    rng = np.random.default_rng(7)
    net = cr.Sequential(cr.Linear(5, 6, rng=rng), act(), cr.Linear(6, 3, rng=rng))
    check_against_torch(net, rng.normal(size=(4, 5)) * 3, rng.normal(size=(4, 3)), cr.MSELoss())


def test_float32_network_stays_float32():
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Linear(4, 8, dtype=np.float32, rng=rng), cr.Tanh(), cr.Linear(8, 3, dtype=np.float32, rng=rng)
    )
    loss = cr.CrossEntropyLoss()
    y = net(rng.normal(size=(5, 4)))
    assert y.dtype == np.float32
    loss(y, [0, 1, 2, 0, 1])
    dx = net.backward(loss.backward())
    assert dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    check_against_torch(net, rng.normal(size=(5, 4)), [0, 1, 2, 0, 1], loss, rtol=1e-4)


@pytest.mark.parametrize("shape", [(5, 3), (3,)])
def test_cross_entropy_with_soft_targets_that_do_not_sum_to_one(shape):
    # PyTorch takes any non-negative class weights as targets: ∂ℓ/∂b = softmax(b)·Σy − y, not softmax(b) − y
    rng = np.random.default_rng(4)
    net = cr.Sequential(cr.Linear(4, 6, rng=rng), cr.Tanh(), cr.Linear(6, 3, rng=rng))
    check_against_torch(net, rng.normal(size=shape[:-1] + (4,)), 2 * rng.random(shape), cr.CrossEntropyLoss())


def test_cross_entropy_is_stable_for_huge_logits():
    loss = cr.CrossEntropyLoss()
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    v = loss(logits, [1, 0])
    g = loss.backward()
    assert np.isfinite(v) and np.all(np.isfinite(g))
    assert v == pytest.approx((2e4 + 2e4) / 2)


def test_cross_entropy_with_targets_not_summing_to_one_matches_torch():
    # PyTorch's gradient is softmax(b) Σₖ yₖ − y; softmax(b) − y only holds for rows summing to 1
    rng = np.random.default_rng(3)
    net = cr.Sequential(cr.Linear(4, 3, rng=rng))
    check_against_torch(
        net, rng.normal(size=(2, 4)), np.array([[0.2, 0.3, 0.6], [-1.0, 2.0, 0.0]]), cr.CrossEntropyLoss()
    )


def test_sigmoid_keeps_tiny_values():
    z = cr.Sigmoid()(np.array([-800.0, -40.0, 0.0, 40.0, 800.0]))
    assert z[1] == pytest.approx(4.248354255291589e-18, rel=1e-12)
    assert z[0] == 0.0 and z[2] == 0.5 and z[4] == 1.0


def test_gradients_accumulate_until_zero_grad():
    rng = np.random.default_rng(1)
    net, loss = cr.Sequential(cr.Linear(3, 2, rng=rng)), cr.SquaredError()
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    loss(net(x), y)
    net.backward(loss.backward())
    once = net[0].weight.grad.copy()
    loss(net(x), y)
    net.backward(loss.backward())
    np.testing.assert_allclose(net[0].weight.grad, 2 * once)
    net.zero_grad()
    assert not net[0].weight.grad.any()
