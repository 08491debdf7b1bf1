"""Conv2d's flat path walked in sample blocks: the same bytes for any block size and any thread count,
and the naive twin's numbers (``core.reference``) on odd shapes: N = 1, odd N, OW < W, dilation, groups."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import conv_flat
from chainrule.core import reference as ref

pytestmark = pytest.mark.usefixtures("split_every_call")  # conftest: every call split over the threads


# (N, C, O, H, W, kernel, padding, dilation, groups): stride 1, all on the flat path
SHAPES = [
    (1, 3, 4, 6, 7, 3, 1, 1, 1),
    (7, 2, 3, 5, 9, (2, 3), 0, 1, 1),  # 'valid': OW < W, so the rows carry unused positions
    (5, 4, 6, 8, 6, 3, (2, 1), (2, 1), 2),
    (9, 3, 3, 7, 7, (3, 1), "same", (1, 2), 3),  # depthwise
    (6, 16, 32, 4, 4, 3, 1, 1, 1),  # the cnn preset's second layer: work over conv_flat.SUM_HALVES_WORK
]


def run(case, dtype, threads: int = 2, block_bytes: int | None = None):
    """(y, dx, dW, db) of one forward + backward on the flat path."""
    N, C, O, H, W, k, p, d, g = case
    rng = np.random.default_rng(N * 100 + C)
    conv = cr.Conv2d(C, O, k, padding=p, dilation=d, groups=g, dtype=dtype, rng=rng)
    conv.path = "flat"
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    before, block = cr.get_num_threads(), conv_flat.BLOCK_BYTES
    try:
        cr.set_num_threads(threads)
        if block_bytes is not None:
            conv_flat.BLOCK_BYTES = block_bytes
        y = conv(x)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = conv.backward(dy)
    finally:
        cr.set_num_threads(before)
        conv_flat.BLOCK_BYTES = block
    return x, dy, conv, (y, dx, conv.weight.grad.copy(), conv.bias.grad.copy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SHAPES)
def test_blocks_and_threads_change_no_byte(case, dtype):
    _, _, _, want = run(case, dtype)
    for threads, block_bytes in ((1, None), (3, None), (2, 1), (1, 1), (3, 2000)):  # 1 byte: one sample a block
        got = run(case, dtype, threads, block_bytes)[3]
        for a, b in zip(want, got, strict=True):
            assert a.tobytes() == b.tobytes(), (threads, block_bytes)


@pytest.mark.parametrize("case", SHAPES[:4])  # the naive loops are slow: the small shapes
def test_blocks_match_the_naive_twin(case):
    x, dy, conv, (y, dx, dW, db) = run(case, np.float64, threads=2, block_bytes=1)
    args = (conv.stride, conv.last_pads, conv.dilation, conv.groups)
    np.testing.assert_allclose(y, ref.conv2d(x, conv.weight.data, conv.bias.data, *args), rtol=1e-12, atol=1e-12)
    rdx, rdW, rdb = ref.conv2d_backward(dy, x, conv.weight.data, *args)
    for a, b in ((dx, rdx), (dW, rdW), (db, rdb)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
