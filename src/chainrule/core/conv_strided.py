"""Fast convolution for any stride, the path for what ``core.conv_flat`` does not take: batch-wide GEMMs
on polyphase images (``nn.conv``'s im2col is its twin).

Stride S splits the padded image into S_h·S_w phase images, phase (a, b) holding the padded pixels
(a + S_h·r, b + S_w·c). Kernel row u reads row phase a = u·D_h mod S_h at row offset u′ = ⌊u·D_h/S_h⌋
(columns alike), so within its phase every kernel tap is a stride-1 shift. The phases are kept in
reused zero buffers laid out (C, row, column, N), the batch innermost, and the outputs alike, so

    cols[(c, u, v), (i, j, n)] = phase(a, b)[c, i + u′, j + v′, n]

is, for each tap (c, u, v), one copy of OH runs of OW·N contiguous numbers (``core.windows``'s view
of the phase image), and

    cols : (C·KH·KW, OH·OW·N),  y = W @ cols,  ∂ℓ/∂W = ∂ℓ/∂y @ colsᵀ,  ∂ℓ/∂cols = Wᵀ @ ∂ℓ/∂y

are three large GEMMs (one per group) where im2col runs 3·N small ones on OH·OW columns; ∂ℓ/∂x adds
∂ℓ/∂cols back the same way, one add per tap, taps in the order (u, v) of ``windows_backward``.
Every sum runs over the same terms as im2col's, but OpenBLAS rounds one dot product differently at
another column position of a larger GEMM, and ∂ℓ/∂W sums the batch inside the GEMM (per half of the
output rows when the call is large, halves in order): results agree with im2col to rounding, not bit
for bit. The halves are fixed by the shape, so the bytes do not depend on ``set_num_threads``.
"""

from math import gcd
from typing import NamedTuple

import numpy as np

from chainrule.core import threads
from chainrule.core import windows as win

# From this many multiply-adds per GEMM the output rows are cut in two halves (parts the threads can share).
# The cut fixes the bytes, so it depends on the shape only, never on the thread count: never change it.
HALVES_WORK = 200_000


class Phase(NamedTuple):
    """One phase of one axis: kernel taps k0, k0 + m, … (n of them) read it at offsets off, off + step, …;
    its cells first : first + many hold the input's positions start, start + S, …"""

    k0: int
    n: int
    off: int
    step: int
    first: int
    start: int
    many: int


def axis_phases(size: int, kernel: int, stride: int, dilation: int, pad: int, cells: int) -> tuple[int, list[Phase]]:
    """(m, the phases in use) of one axis, whose phase cells are padded positions a + S·cell, cell < ``cells``."""
    m = stride // gcd(stride, dilation)  # the taps of one phase are m apart
    phases = []
    for a in sorted({k * dilation % stride for k in range(kernel)}):
        k0 = next(k for k in range(kernel) if k * dilation % stride == a)
        first = max(0, -(-(pad - a) // stride))
        start = a + stride * first - pad
        count = max(0, min(cells - first, len(range(start, size, stride))))
        n = len(range(k0, kernel, m))
        phases.append(Phase(k0, n, k0 * dilation // stride, m * dilation // stride, first, start, count))
    return m, phases


class StridedConv:
    """Buffers and kernels for one input shape (N, C, H, W), kernel, stride, padding, dilation, dtype, groups.

    ``forward`` keeps the patch matrix in its buffer for ``backward``: one cache per forward.
    """

    def __init__(self, x_shape, weight_shape, stride, pads, dilation, dtype, groups: int = 1):
        N, C, H, W = x_shape
        O, _, kh, kw = weight_shape
        (sh, sw), (dh, dw), (t, b, left, r) = stride, dilation, pads
        self.key = (
            tuple(x_shape),
            tuple(weight_shape),
            tuple(stride),
            tuple(pads),
            tuple(dilation),
            np.dtype(dtype),
            groups,
        )
        self.N, self.C, self.H, self.W, self.O, self.G, self.kh, self.kw = N, C, H, W, O, groups, kh, kw
        oh = self.oh = win.AxisSteps(H, kh, sh, dh, t, b).output
        ow = self.ow = win.AxisSteps(W, kw, sw, dw, left, r).output
        rows, cells = oh + (kh - 1) * dh // sh, ow + (kw - 1) * dw // sw  # phase cells the outputs read
        mh, ph = axis_phases(H, kh, sh, dh, t, rows)
        mw, pw = axis_phases(W, kw, sw, dw, left, cells)
        self.xbuf = np.zeros((len(ph), len(pw), C, rows, cells, N), dtype=dtype)  # padding written once
        self.dbuf = np.empty_like(self.xbuf)
        self.cols = np.empty((C * kh * kw, oh * ow * N), dtype=dtype)
        # scratch reused between calls: a fresh megabyte array costs a page fault per 4 kB on every call
        self.yq = np.empty((O, oh * ow * N), dtype=dtype)
        self.dq = np.empty((O, oh, ow, N), dtype=dtype)
        self.dcols = np.empty_like(self.cols)
        cols6 = self.cols.reshape(C, kh, kw, oh, ow, N)
        dcols6 = self.dcols.reshape(C, kh, kw, oh, ow, N)
        # the views each call works through, channel first (a thread takes channels c0:c1)
        self.fills = []  # (cells of xbuf, cells of dbuf, their pixels of x as an index of (N, C, H, W))
        self.taps = []  # (rows of cols, their windows of the phase image)
        self.adds = []  # (phase of dbuf, [(its window for tap (u, v), rows of ∂ℓ/∂cols)] in the order (u, v))
        for i, a in enumerate(ph):
            for k, c in enumerate(pw):
                at = (i, k, slice(None), slice(a.first, a.first + a.many), slice(c.first, c.first + c.many))
                xi = (slice(None), slice(None), slice(a.start, a.start + sh * a.many, sh))
                self.fills.append((self.xbuf[at], self.dbuf[at], (*xi, slice(c.start, c.start + sw * c.many, sw))))
                img = self.xbuf[i, k, :, a.off :, c.off :].transpose(0, 3, 1, 2)  # (C, N, rows, cells)
                w6 = win.windows(img, (a.n, c.n), (1, 1), (a.step, c.step))[:, :, :oh, :ow]
                self.taps.append((cols6[:, a.k0 :: mh, c.k0 :: mw], w6.transpose(0, 4, 5, 2, 3, 1)))
                adds = []
                for iu, u in enumerate(range(a.k0, kh, mh)):
                    for iv, v in enumerate(range(c.k0, kw, mw)):
                        r0, c0 = a.off + iu * a.step, c.off + iv * c.step
                        adds.append((self.dbuf[i, k, :, r0 : r0 + oh, c0 : c0 + ow], dcols6[:, u, v]))
                self.adds.append((self.dbuf[i, k], adds))
        self.work = O * (C // groups) * kh * kw * oh * ow * N  # multiply-adds per GEMM
        # the GEMMs' split into output rows, fixed by the shape (not the thread count), so the bytes are too
        halves = oh >= 2 and self.work >= HALVES_WORK
        self.cuts = [0, oh // 2, oh] if halves else [0, oh]

    def _gemms(self, fn) -> None:
        """fn(i0, i1) for each part of ``cuts``, the parts spread over the threads."""
        cuts = self.cuts
        threads.parallel(lambda lo, hi: [fn(cuts[k], cuts[k + 1]) for k in range(lo, hi)], len(cuts) - 1, self.work)

    def _block(self, M: np.ndarray, i0: int, i1: int) -> np.ndarray:
        """The columns of output rows i0:i1 of M (rows, OH·OW·N), per group: (G, rows/G, (i1 − i0)·OW·N)."""
        n = self.ow * self.N
        return M.reshape(self.G, -1, M.shape[-1])[:, :, i0 * n : i1 * n]

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """x (N, C, H, W) -> y (N, O, OH, OW)."""
        Wg = weight.reshape(self.G, self.O // self.G, -1)  # (G, Og, Kg)
        y = np.empty((self.N, self.O, self.oh, self.ow), dtype=x.dtype)

        def copy(c0, c1):  # x into the phase images, then their windows into cols: channels c0:c1
            xc = x[:, c0:c1].transpose(1, 2, 3, 0)  # (c, H, W, N)
            for (cells, _, (_, _, rows, cols)), (dst, src) in zip(self.fills, self.taps, strict=True):
                cells[c0:c1] = xc[:, rows, cols]
                np.copyto(dst[c0:c1], src[c0:c1])

        def gemm(i0, i1):  # output rows i0:i1
            yq = np.matmul(Wg, self._block(self.cols, i0, i1), out=self._block(self.yq, i0, i1))
            y[:, :, i0:i1] = yq.reshape(self.O, i1 - i0, self.ow, self.N).transpose(3, 0, 1, 2)
            if bias is not None:
                y[:, :, i0:i1] += bias[:, None, None]

        threads.parallel(copy, self.C, self.work)
        self._gemms(gemm)
        return y

    def backward(self, dy: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dx, dW, db) for dy (N, O, OH, OW), from the patch matrix of the last forward."""
        G, Og = self.G, self.O // self.G
        WgT = np.ascontiguousarray(weight.reshape(G, Og, -1).transpose(0, 2, 1))  # (G, Kg, Og)
        dq2 = self.dq.reshape(self.O, -1)
        grads = {}

        def gemm(i0, i1):  # output rows i0:i1
            self.dq[:, i0:i1] = dy[:, :, i0:i1].transpose(1, 2, 3, 0)
            dq = self._block(dq2, i0, i1)
            # (G, Kg, Og): with cols on the left OpenBLAS is faster than ∂ℓ/∂y @ colsᵀ
            grads[i0] = np.matmul(self._block(self.cols, i0, i1), dq.transpose(0, 2, 1))
            np.matmul(WgT, dq, out=self._block(self.dcols, i0, i1))

        dx = np.zeros((self.N, self.C, self.H, self.W), dtype=dy.dtype)
        self._gemms(gemm)
        threads.parallel(lambda c0, c1: self._scatter(dx, c0, c1), self.C, self.work)
        gT = sum(grads[k] for k in sorted(grads))  # a fixed order: the same bytes on every run
        dW = np.ascontiguousarray(gT.transpose(0, 2, 1)).reshape(weight.shape)
        return dx, dW, dy.sum(axis=(0, 2, 3))

    def _scatter(self, dx: np.ndarray, c0: int, c1: int) -> None:
        """dx[:, c0:c1] from ∂ℓ/∂cols: the adjoint of the patch copy, one add per tap.

        Each pixel lies in one phase, whose taps are added in the order (u, v), as ``windows_backward`` does.
        """
        dxc = dx[:, c0:c1].transpose(1, 2, 3, 0)  # (c, H, W, N)
        for (_, cells, (_, _, rows, cols)), (phase, adds) in zip(self.fills, self.adds, strict=True):
            phase[c0:c1] = 0
            for dst, src in adds:
                dst[c0:c1] += src[c0:c1]
            dxc[:, rows, cols] = cells[c0:c1]
