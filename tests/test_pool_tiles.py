"""The tiling max-pool path (stride = kernel, no padding, no dilation) against its naive twin and, bitwise,
against the general window path; the per-shape plans of Conv2d, MaxPool2d and Flatten follow shape changes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import reference as ref
from chainrule.errors import ChainruleError


def _general(layer: cr.MaxPool2d) -> cr.MaxPool2d:
    """The same layer forced onto the general (windows / windows_backward) path."""
    layer._plan = lambda hw: (layer.pads(hw), False)  # type: ignore[method-assign]
    return layer


CASES = [
    ((4, 3, 8, 8), 2),
    ((2, 2, 7, 9), 2),
    ((3, 1, 28, 28), 2),
    ((2, 3, 9, 6), 3),
    ((2, 2, 6, 8), (2, 4)),
    ((1, 2, 5, 5), 1),
]


@pytest.mark.parametrize(("shape", "k"), CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiles_match_the_naive_loops_and_the_general_path_bitwise(shape, k, dtype):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < 0.4] = 0.0  # ties, as after a ReLU: the gradient goes to the first maximum
    fast, slow = cr.MaxPool2d(k), _general(cr.MaxPool2d(k))
    assert fast._plan(shape[2:])[1]  # the tiling path is the one under test
    y = fast.forward(x)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = fast.backward(dy)
    y_ref, dx_ref = ref.max_pool2d(x, dy, fast.kernel_size, fast.stride, (0, 0, 0, 0))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, dx_ref)
    assert y.dtype == dx.dtype == dtype
    ys = slow.forward(x)
    assert ys.tobytes() == y.tobytes() and slow.backward(dy).tobytes() == dx.tobytes()
    # one unbatched image takes the same path
    assert fast.forward(x[0]).tobytes() == y[0].tobytes()
    assert fast.backward(dy[0]).tobytes() == dx[0].tobytes()


def test_tiles_keep_the_general_paths_signed_zeros_and_nan():
    x = np.array([[[[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [np.nan, 2.0, 3.0, 3.0], [0.0, 0.0, 3.0, 3.0]]]])
    dy = np.array([[[[-1.0, -2.0], [4.0, -0.0]]]])
    fast, slow = cr.MaxPool2d(2), _general(cr.MaxPool2d(2))
    assert fast.forward(x).tobytes() == slow.forward(x).tobytes()
    assert fast.backward(dy).tobytes() == slow.backward(dy).tobytes()


def test_plans_follow_a_change_of_shape_or_settings():
    rng = np.random.default_rng(0)
    pool, flat = cr.MaxPool2d(2), cr.Flatten()
    conv = cr.Conv2d(2, 3, 3, padding=1, rng=rng)
    for shape in [(2, 2, 8, 8), (3, 2, 6, 10), (2, 2, 8, 8)]:
        x = rng.standard_normal(shape)
        y = conv.forward(x)
        assert y.shape == (shape[0], 3, *shape[2:])
        p = pool.forward(y)
        assert p.shape == (shape[0], 3, shape[2] // 2, shape[3] // 2)
        assert flat.forward(p).shape == (shape[0], 3 * (shape[2] // 2) * (shape[3] // 2))
    pool.stride = (1, 1)  # overlapping windows now: the general path
    assert pool.forward(y).shape == (2, 3, 7, 7)
    conv.padding = (0, 0)
    assert conv.forward(x).shape == (2, 3, 6, 6)
    flat.start_dim = 2
    assert flat.forward(p).shape == (2, 3, 16)
    with pytest.raises(ChainruleError, match="channel"):
        conv.forward(rng.standard_normal((2, 5, 8, 8)))
    conv.path = "bogus"
    with pytest.raises(ChainruleError, match="Conv2d.path"):
        conv.forward(x)


@pytest.mark.parametrize("path", ["flat", "strided", "im2col"])
def test_conv_backward_params_gives_backwards_gradients_bitwise(path):
    rng = np.random.default_rng(3)
    a = cr.Conv2d(1, 6, 5, padding=2, stride=1 if path == "flat" else 2, dtype=np.float32, rng=rng)
    b = cr.Conv2d(1, 6, 5, padding=2, stride=a.stride, dtype=np.float32, rng=rng)
    b.load_state_dict(a.state_dict())
    a.path = b.path = path
    x = rng.standard_normal((4, 1, 12, 12)).astype(np.float32)
    dy = rng.standard_normal(a.forward(x).shape).astype(np.float32)
    b.forward(x)
    a.backward(dy)
    assert b.backward_params(dy) is None
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert p.grad.tobytes() == q.grad.tobytes()
