"""Section 3 of the recitation, to 1e-9, with exact values from shared/reference/README.md."""

import numpy as np
import pytest

import chainrule as cr

ALPHA = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]
BETA = [[0, 1, 2, 2]]
Y = 3

# x, a, z, ŷ, ℓ, ∂ℓ/∂a, ∂ℓ/∂β
CASES = [
    (
        [1, 2],
        [5, 3, 2],
        [0.9999092043, 0.9950547537, 0.9640275801],
        4.9180738718,
        1.8395036888,
        [0.00034829005, 0.037847576, 0.27102700],
        [1.9180738718, 1.9178997189, 1.9085885240, 1.8490761130],
    ),
    (
        [0, 1],
        [2, 2, 0],
        [0.9640275801, 0.9640275801, 0],
        2.8920827402,
        0.0058230675,
        [-0.0076244434, -0.0152488868, -0.2158345195],
        [-0.1079172598, -0.1040352148, -0.1040352148, 0],
    ),
    (
        [2, 3],
        [8, 4, 4],
        [0.9999997749, 0.9993292997, 0.9993292997],
        4.9973169739,
        1.9946375471,
        [8.9907346e-7, 5.3566071e-3, 5.3566071e-3],
        [1.9973169739, 1.9973165243, 1.9959773729, 1.9959773729],
    ),
]


def recitation_net():
    return cr.Sequential(cr.Linear.from_folded(ALPHA), cr.Tanh(), cr.Linear.from_folded(BETA))


def close(ours, exact, atol=1e-9):
    """Equal to the reference's exact value to 1e-9 (absolute)."""
    np.testing.assert_allclose(ours, exact, rtol=0, atol=atol)


@pytest.mark.parametrize("x, a, z, yhat, loss, da, dbeta", CASES)
def test_forward_and_backward(x, a, z, yhat, loss, da, dbeta):
    net, sq = recitation_net(), cr.SquaredError()
    out = net(np.array(x, dtype=float))
    value = sq(out, Y)
    net.backward(sq.backward())
    close(net.outputs[0], a)
    close(net.outputs[1], z)
    close(out, [yhat])
    close(value, loss)
    close(net.output_grads[0], da, atol=5e-9)  # the reference prints 0.27102700 to 8 decimals
    close(net[2].grad_folded[0], dbeta)
    # ∂ℓ/∂α = (∂ℓ/∂a)ᵀ x̂, every entry; the reference's ∂ℓ/∂a is rounded to 1e-9, times x_i ≤ 3
    xhat = np.array([1.0, *x])
    close(net[0].grad_folded, np.outer(da, xhat), atol=5e-9 * xhat.max())
    # and exactly the engine's own ∂ℓ/∂a times x̂
    np.testing.assert_allclose(net[0].grad_folded, np.outer(net.output_grads[0], xhat), rtol=1e-15)


def test_scalar_form_values():
    """3.1's single derivatives: ∂ℓ/∂α₁,₁ = 0.00034829005, ∂ℓ/∂β₁ = 1.9178997189."""
    net, sq = recitation_net(), cr.SquaredError()
    sq(net(np.array([1.0, 2.0])), Y)
    net.backward(sq.backward())
    assert abs(net[0].grad_folded[0, 1] - 0.00034829005) < 1e-9
    assert abs(net[2].grad_folded[0, 1] - 1.9178997189) < 1e-9


def test_exact_gradients_against_closed_form():
    """Each gradient equals its chain-rule product computed independently in float64, to 1e-12."""
    A, B = np.array(ALPHA, float), np.array(BETA, float)[0]
    for x, *_ in CASES:
        xhat = np.array([1.0, *x])
        a = A @ xhat
        z = np.tanh(a)
        yhat = B @ np.r_[1.0, z]
        da = (yhat - Y) * B[1:] * (1 - z**2)
        net, sq = recitation_net(), cr.SquaredError()
        sq(net(np.array(x, float)), Y)
        net.backward(sq.backward())
        np.testing.assert_allclose(net[0].grad_folded, np.outer(da, xhat), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(net[2].grad_folded[0], (yhat - Y) * np.r_[1.0, z], rtol=1e-12)


def test_batch_of_three_is_mean_of_singles():
    net, sq = recitation_net(), cr.SquaredError()
    X = np.array([c[0] for c in CASES], float)
    value = sq(net(X), [Y] * 3)
    net.backward(sq.backward())
    np.testing.assert_allclose(value, np.mean([c[4] for c in CASES]), rtol=1e-9)
    grads = []
    for x in X:
        net.zero_grad()
        sq(net(x), Y)
        net.backward(sq.backward())
        grads.append(net[0].grad_folded)
    net.zero_grad()
    sq(net(X), [Y] * 3)
    net.backward(sq.backward())
    np.testing.assert_allclose(net[0].grad_folded, np.mean(grads, axis=0), rtol=1e-12)
