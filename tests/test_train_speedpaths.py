"""The training loop's fast paths give exactly what the plain API gives (each fast path has a plain twin)."""

import numpy as np
import pytest

from chainrule.nn import CrossEntropyLoss, Linear, Sequential, Sigmoid, Tanh
from chainrule.optim import SGD
from chainrule.train.loop import run_epoch


def nets():
    rng = np.random.default_rng(0)
    make = lambda: Sequential(Linear(5, 7, rng=1), Tanh(), Linear(7, 4, rng=2), Sigmoid(), Linear(4, 3, rng=3))  # noqa: E731
    return make(), make(), rng


@pytest.mark.parametrize("batch", [1, 4])
def test_deferred_zeroing_and_skipped_input_grad_match_the_plain_step(batch):
    fast, plain, rng = nets()
    X, y = rng.normal(size=(12, 5)), rng.integers(0, 3, 12)
    order = rng.permutation(12)
    # the plain twin: eager zero_grad, full backward (with ∂ℓ/∂x), one-hot-free labels as an int array
    loss, opt = CrossEntropyLoss(), SGD(plain.parameters(), 0.1)
    for s in range(0, 12, batch):
        idx = order[s : s + batch]
        opt.zero_grad()
        loss.forward(plain.forward(X[idx]), y[idx])
        plain.backward(loss.backward())
        opt.step()
    run_epoch(fast, CrossEntropyLoss(), SGD(fast.parameters(), 0.1), X, y, order, batch, 0)
    for (name, p), q in zip(fast.named_parameters(), plain.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13, atol=1e-15, err_msg=name)


def test_defer_zero_grad_writes_what_zero_grad_then_backward_adds():
    a, b, rng = nets()
    x = rng.normal(size=(3, 5))
    for net in (a, b):  # leave stale gradients behind
        net.forward(x)
        net.backward(np.ones((3, 3)))
    a.defer_zero_grad()
    b.zero_grad()
    dy = rng.normal(size=(3, 3))
    for net in (a, b):
        net.forward(x)
        net.backward(dy)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(p.grad, q.grad)
    # and a second backward adds, as usual
    a.backward(dy)
    b.backward(dy)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(p.grad, q.grad)


def test_zero_grad_cancels_a_deferred_zeroing():
    layer = Linear(2, 2, rng=0)
    layer.forward(np.ones(2))
    layer.defer_zero_grad()
    layer.zero_grad()
    layer.backward(np.ones(2))
    layer.backward(np.ones(2))
    np.testing.assert_array_equal(layer.weight.grad, 2 * np.ones((2, 2)))


def test_cross_entropy_label_fast_path_matches_one_hot_targets():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(6, 4)) * 5, rng.integers(0, 4, 6)
    fast, plain = CrossEntropyLoss(), CrossEntropyLoss()
    v1, v2 = fast.forward(logits, labels), plain.forward(logits, np.eye(4)[labels])
    assert v1 == pytest.approx(v2, rel=1e-14)
    np.testing.assert_allclose(fast.backward(), plain.backward(), rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(fast.target, np.eye(4)[labels])
    assert fast.forward(logits[2], int(labels[2])) == pytest.approx(plain.forward(logits[2], np.eye(4)[labels[2]]))
    np.testing.assert_allclose(fast.backward(), plain.backward(), rtol=1e-14, atol=1e-16)
