"""The speed paths a PyTorch-style loop (zero_grad, forward, loss, backward, step) takes inside the layers,
the loss and the optimiser, each against its plain twin: one example as a (1, k) row, gradients written
after zero_grad(), the input check's one-sum finiteness test."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import CrossEntropyLoss, Linear, Sequential, Tanh
from chainrule.optim import SGD


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_one_row_batch_equals_the_one_example_vector_and_the_batch_formula(dtype):
    rng = np.random.default_rng(0)
    layer = Linear(6, 4, rng=1, dtype=dtype)
    x, dy = rng.normal(size=(1, 6)).astype(dtype), rng.normal(size=(1, 4)).astype(dtype)
    W, b = layer.weight.data, layer.bias.data
    y = layer.forward(x)
    layer.zero_grad()
    dx = layer.backward(dy)
    row = (y.copy(), dx.copy(), layer.weight.grad.copy(), layer.bias.grad.copy())
    # the plain formulas of the batch path (a GEMM): same numbers to rounding
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y, x @ W.T + b, rtol=tol)
    np.testing.assert_allclose(dx, dy @ W, rtol=tol)
    np.testing.assert_allclose(layer.weight.grad, dy.T @ x, rtol=tol)
    # chainrule against itself: exactly what the one-example (1-D) path gives
    layer.zero_grad()
    y1 = layer.forward(x[0])
    dx1 = layer.backward(dy[0])
    for a, b1 in zip(row, (y1[None], dx1[None], layer.weight.grad, layer.bias.grad), strict=True):
        np.testing.assert_array_equal(a, b1)


def test_written_gradients_equal_added_ones_and_accumulation_still_adds():
    rng = np.random.default_rng(1)
    x, dy = rng.normal(size=(3, 5)), rng.normal(size=(3, 2))
    fast, plain = Linear(5, 2, rng=2), Linear(5, 2, rng=2)
    fast.zero_grad()  # grad_zeroed: the next backward writes
    assert fast.weight.grad_zeroed
    fast.forward(x)
    fast.backward(dy)
    plain.forward(x)
    plain.backward(dy)  # a fresh layer: grad_zeroed is False, the backward adds into zeros
    np.testing.assert_array_equal(fast.weight.grad, plain.weight.grad)
    assert not fast.weight.grad_zeroed
    fast.backward(dy)  # a second backward accumulates, as PyTorch's does
    np.testing.assert_allclose(fast.weight.grad, 2 * plain.weight.grad, rtol=1e-15)
    # an optimiser holding only the weight: the bias was not zeroed, so nothing is overwritten
    opt = SGD([fast.weight], 0.1)
    opt.zero_grad()
    before = fast.bias.grad.copy()
    fast.backward(dy)
    np.testing.assert_allclose(fast.bias.grad, before + dy.sum(axis=0), rtol=1e-15)
    # code that adds into .grad itself clears the flag, and its addition is kept
    opt.zero_grad()
    fast.bias.grad_zeroed = False
    fast.weight.grad += 1.0
    fast.weight.grad_zeroed = False
    fast.backward(dy)
    np.testing.assert_allclose(fast.weight.grad, 1.0 + plain.weight.grad, rtol=1e-14)


def test_public_loop_gives_the_bytes_of_the_training_loop():
    from chainrule.train.loop import run_epoch

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 3, 9)
    order = rng.permutation(9)
    for batch in (1, 4):
        make = lambda: Sequential(Linear(4, 6, rng=1), Tanh(), Linear(6, 3, rng=2))  # noqa: E731
        user, internal = make(), make()
        loss, opt = CrossEntropyLoss(), SGD(user.parameters(), 0.1, momentum=0.9)
        for s in range(0, 9, batch):
            idx = order[s : s + batch]  # a (1, 4) row at batch 1, as a PyTorch loop has it
            opt.zero_grad()
            loss(user(X[idx]), y[idx])
            user.backward(loss.backward())
            opt.step()
        run_epoch(internal, CrossEntropyLoss(), SGD(internal.parameters(), 0.1, momentum=0.9), X, y, order, batch, 0)
        for a, b in zip(user.parameters(), internal.parameters(), strict=True):
            np.testing.assert_array_equal(a.data, b.data)


def test_input_check_still_names_nan_and_infinity_and_passes_huge_finite_values():
    net = Sequential(Linear(3, 2, rng=0))
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(cr.ChainruleError, match=rf"network input contains {bad} at index \(0, 1\)"):
            net(np.array([[1.0, bad, 2.0]]))
    with np.errstate(over="ignore"):  # the sum overflows: the exact check runs, and passes
        assert net(np.array([[1.7e308, 1.7e308, 0.0]])).shape == (1, 2)


def test_zero_grad_fills_lazily_and_every_reader_sees_zeros():
    from chainrule.nn import Conv2d

    layer = Linear(3, 2, rng=0)
    x, dy = np.ones((4, 3)), np.ones((4, 2))
    layer.forward(x)
    layer.backward(dy)
    opt = SGD(layer.parameters(), 0.1)
    opt.zero_grad()
    np.testing.assert_array_equal(layer.weight.grad, 0.0)  # a read fills the zeros
    opt.zero_grad()
    layer.backward(dy)  # Linear writes without the fill: the same bytes as adding into zeros
    fresh = Linear(3, 2, rng=0)
    fresh.forward(x)
    fresh.backward(dy)
    np.testing.assert_array_equal(layer.weight.grad, fresh.weight.grad)
    # a layer that adds into .grad (Conv2d) reads it, so it adds into zeros, not into the old values
    conv = Conv2d(1, 1, 2, rng=0)
    xi = np.ones((1, 1, 3, 3))
    conv.forward(xi)
    conv.backward(np.ones((1, 1, 2, 2)))
    once = conv.weight.grad.copy()
    conv.zero_grad()
    conv.forward(xi)
    conv.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(conv.weight.grad, once)
