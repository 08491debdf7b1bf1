"""Conv2d's strided fast path (core/conv_strided.py) against its naive twin, im2col and PyTorch float64.

The cases are listed by hand so that each thing the path splits on appears: stride 2, 3 and
asymmetric, padding 0–2 (and unequal per axis), dilation with stride (taps of one phase m apart),
groups and depthwise with stride, batch 1, odd sizes where the floor drops rows, and stride 1 with
more padding than the flat path takes.
"""

import numpy as np
import pytest
from oracle import check_against_torch

import chainrule as cr
from chainrule.core import conv_strided
from chainrule.core import reference as ref

pytestmark = pytest.mark.usefixtures("split_every_call")  # conftest: every call split over the threads


# (in, out, kernel, stride, padding, dilation, groups, (N, H, W))
CASES = [
    (3, 4, 3, (2, 2), (1, 1), (1, 1), 1, (2, 9, 9)),
    (2, 3, 3, (3, 3), (0, 0), (1, 1), 1, (2, 10, 8)),
    (2, 2, (2, 3), (1, 2), (2, 1), (1, 1), 1, (1, 7, 9)),
    (3, 2, 3, (3, 2), (1, 2), (1, 1), 1, (2, 8, 9)),
    (2, 3, 3, (2, 2), (2, 2), (2, 2), 1, (1, 9, 9)),
    (2, 2, (3, 2), (2, 3), (1, 0), (3, 2), 1, (2, 9, 8)),
    (4, 4, 3, (2, 2), (1, 1), (1, 1), 2, (2, 8, 8)),
    (3, 6, 3, (2, 1), (1, 1), (2, 1), 3, (2, 7, 9)),
    (2, 1, 1, (2, 2), (0, 0), (1, 1), 1, (1, 5, 6)),
    (1, 2, 4, (3, 3), (2, 2), (1, 1), 1, (1, 8, 8)),
    (2, 3, 3, (1, 1), (2, 2), (1, 1), 1, (2, 6, 7)),  # stride 1, padding beyond 'same': not flat
]


def make(case, dtype=np.float64, bias=True):
    cin, cout, k, s, p, d, g, (n, h, w) = case
    rng = np.random.default_rng(sum(map(hash, (cin, cout, n, h, w))) % 2**32)
    layer = cr.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias, dtype=dtype, rng=rng)
    x = rng.standard_normal((n, cin, h, w)).astype(dtype)
    return layer, x, rng


def run(layer, x, dy, path):
    layer.path = path
    layer.zero_grad()
    y = layer(x)
    dx = layer.backward(dy)
    return y, dx, layer.weight.grad.copy(), None if layer.bias is None else layer.bias.grad.copy()


@pytest.mark.parametrize("case", CASES)
def test_strided_path_matches_naive_twin_and_im2col(case):
    layer, x, rng = make(case, bias=case[3] != (3, 3))
    assert layer(x) is not None and layer._fast is layer._strided  # "auto" takes this path
    dy = rng.standard_normal(layer(x).shape)
    y, dx, dW, db = ours = run(layer, x, dy, "strided")
    W, b, pads = layer.weight.data, None if layer.bias is None else layer.bias.data, layer.last_pads
    np.testing.assert_allclose(y, ref.conv2d(x, W, b, layer.stride, pads, layer.dilation, layer.groups), 1e-12, 1e-12)
    naive = ref.conv2d_backward(dy, x, W, layer.stride, pads, layer.dilation, layer.groups)
    for a, r in zip((dx, dW, db), naive, strict=True):
        if a is not None:
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
    for a, r in zip(ours, run(layer, x, dy, "im2col"), strict=True):
        if a is not None:
            np.testing.assert_allclose(a, r, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("case", CASES[::2])
def test_strided_path_matches_torch(case):
    layer, x, rng = make(case)
    check_against_torch(layer, x, rng.standard_normal(layer(x).shape), cr.MSELoss())


@pytest.mark.parametrize("case", CASES[:8:3])
def test_strided_path_float32_matches_im2col(case):
    layer, x, rng = make(case, dtype=np.float32)
    dy = rng.standard_normal(layer(x).shape).astype(np.float32)
    ours, theirs = run(layer, x, dy, "strided"), run(layer, x, dy, "im2col")
    for a, r in zip(ours, theirs, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)


def test_strided_path_keeps_outputs_and_gives_the_same_bytes_on_any_thread_count():
    rng = np.random.default_rng(7)
    layer = cr.Conv2d(8, 8, 3, stride=2, padding=1, rng=rng)
    x1, x2 = rng.standard_normal((2, 16, 8, 14, 14))
    dy = rng.standard_normal((16, 8, 7, 7))
    assert 8 * 8 * 9 * 49 * 16 >= conv_strided.HALVES_WORK  # large enough to be split
    before = cr.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3, 1):
            cr.set_num_threads(n)
            y, dx, dW, db = run(layer, x1, dy, "strided")
            keep = (y.copy(), dx.copy())
            run(layer, x2, dy, "strided")  # reuses the buffers: earlier results must not change
            np.testing.assert_array_equal(y, keep[0])
            np.testing.assert_array_equal(dx, keep[1])
            results.append((y, dx, dW, db))
    finally:
        cr.set_num_threads(before)
    for other in results[1:]:  # the split is fixed by the shape: the same bytes on 1, 2 and 3 threads
        for a, b in zip(results[0], other, strict=True):
            assert a.tobytes() == b.tobytes()
    tiny = cr.Conv2d(1, 1, 3, stride=2, rng=0)
    tiny.path = "strided"
    cr.set_num_threads(3)  # more threads than output rows (2): empty chunks
    try:
        big = np.random.default_rng(1).standard_normal((40000, 1, 5, 5))
        y = tiny(big)
        dx = tiny.backward(np.ones_like(y))
    finally:
        cr.set_num_threads(before)
    tiny.path = "im2col"
    np.testing.assert_allclose(y, tiny(big), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dx, tiny.backward(np.ones_like(y)), rtol=1e-13, atol=1e-13)
