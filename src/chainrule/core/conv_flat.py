"""Fast stride-1 convolution on a flat, row-padded layout (the speed path; ``nn.conv`` im2col is its twin).

Each image is kept flat, channel by channel, in a reused buffer padded with zero *rows* above and below
only. Output position p = i·W + j (one row of W positions per output row, even when OW < W) then
reads input position p + u·D_h·W + v·D_w − P_left for kernel offset (u, v): every offset is one
contiguous shift of the flat image, so ONE strided copy builds the whole patch matrix

    P : (N, C·KH·KW + 1, OH·W),  P[n, (c, u, v), p] = xflat[n, c, p + u·D_h·W + v·D_w − P_left]

except that reads which wrap across a row end (they stand for left/right zero padding) are zeroed.
The last row of P is all ones, so [W | b] @ P adds the bias, and ∂ℓ/∂y @ Pᵀ yields [∂ℓ/∂W | ∂ℓ/∂b].
One matmul per sample writes NCHW directly. Large batches are split over chainrule's threads, each with
single-threaded BLAS (core.threads), which beats letting OpenBLAS split each small GEMM.

Every GEMM stays per sample: a batch-wide GEMM of the same dot products gives other float32 bytes
(OpenBLAS's kernels treat the tail positions of a row block differently), and so would change what
``chainrule train`` writes. ∂ℓ/∂W sums the per-sample products in a grouping fixed by the call
(``sum_samples``), so its bytes do not depend on the thread count either.

Grouped (and depthwise) convolutions use the same patch matrix: group g's rows (c, u, v), c in its Cg
channels, are one contiguous block, so each group is one matmul per sample on its block and the bias
is added afterwards (the ones row serves groups = 1 only, whose arithmetic is unchanged).

Supported: stride 1, any dilation and groups, and OW ≤ W (left + right padding ≤ D_w(KW − 1), e.g.
'same', 'valid').
"""

from itertools import pairwise

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.core import threads
from chainrule.core import windows as win


def supported(stride, pads, dilation, groups, kernel, width) -> bool:
    """Whether this layout can compute the convolution (else use im2col)."""
    ext_w = dilation[1] * (kernel[1] - 1) + 1
    return tuple(stride) == (1, 1) and pads[2] + pads[3] <= ext_w - 1 and width + pads[2] + pads[3] - ext_w + 1 >= 1


BLOCK_BYTES = 4 << 20  # samples per block: this many bytes of P (measured: 16–64 samples all within noise)
# The bytes of ∂ℓ/∂W depend on this (not on the thread count, not on the split thresholds): calls of at least this
# many multiply-adds sum the per-sample products as (first half of the batch) + (second half), smaller calls
# in one run. It is the split rule the flat path had when the baseline hashes were recorded: never change it.
SUM_HALVES_WORK = 200_000


def sum_samples(G: np.ndarray, work: int) -> np.ndarray:
    """Σₙ G[n] for G (N, …) in a grouping fixed by the call (N, work), whatever the thread count.

    Each half is summed in sample order; then 0 + half₁ + half₂ (Python's ``sum``, as before: 0 + (−0) = +0).
    """
    n = G.shape[0]
    cuts = [0, n // 2, n] if n >= 2 and work >= SUM_HALVES_WORK else [0, n]
    return sum(G[a:b].sum(axis=0) for a, b in pairwise(cuts))


class FlatConv:
    """Buffers and kernels for one input shape (N, C, H, W), kernel, padding, dilation and dtype.

    ``forward`` keeps the patch matrix in its buffer for ``backward``: one cache per forward. Both passes
    walk the batch in blocks of a few samples (``BLOCK_BYTES``) so that what one GEMM writes is still in
    cache for the next pass over it; the scratch buffers of each thread's chunk are kept between calls.
    """

    def __init__(self, x_shape, weight_shape, pads, dilation, dtype, groups: int = 1):
        N, C, H, W = x_shape
        O, _, kh, kw = weight_shape
        t, b, left, r = pads
        dh, dw = dilation
        self.key = (tuple(x_shape), tuple(weight_shape), tuple(pads), tuple(dilation), np.dtype(dtype), groups)
        self.G = groups
        self.N, self.C, self.H, self.W, self.O, self.kh, self.kw = N, C, H, W, O, kh, kw
        self.top, self.left, self.dh, self.dw = t, left, dh, dw
        self.oh = win.AxisSteps(H, kh, 1, dh, t, b).output  # stride 1: the flat layout needs it
        self.ow = win.AxisSteps(W, kw, 1, dw, left, r).output
        self.q = self.oh * W  # output positions per channel, W per row
        self.ck = C * kh * kw
        pre, post = left, dw * (kw - 1) - left  # reads reach this far before / after
        self.length = pre + (H + t + b) * W + post
        self.xbuf = np.zeros((N, C, self.length), dtype=dtype)  # zero rows and ends are written once
        self.interior = self.xbuf[:, :, pre + t * W : pre + (t + H) * W].reshape(N, C, H, W)
        s = self.xbuf.strides
        # (N, C, KH, KW, OH·W): the one strided view that is the patch matrix
        self.view = as_strided(
            self.xbuf, (N, C, kh, kw, self.q), (s[0], s[1], dh * W * s[2], dw * s[2], s[2]), writeable=False
        )
        self.P = np.empty((N, self.ck + 1, self.q), dtype=dtype)
        self.P[:, -1, :] = 1
        # for kernel column v, the output columns j whose read wraps across a row end: [0, lo) and [hi, W)
        self.wraps = []
        for v in range(kw):
            lo, hi = max(0, left - v * dw), min(W, W + left - v * dw)
            if lo > 0 or hi < W:
                self.wraps.append((v, slice(0, lo), slice(hi, W)))
        self.block = max(1, BLOCK_BYTES // ((self.ck + 1) * self.q * np.dtype(dtype).itemsize))
        self._scratch: dict = {}

    def _buf(self, name: str, lo: int, shape: tuple, zero: bool = False) -> np.ndarray:
        """A scratch array kept between calls, one per (name, chunk start): threads never share one."""
        a = self._scratch.get((name, lo))
        if a is None or a.shape != shape:
            a = self._scratch[name, lo] = np.zeros(shape, self.P.dtype) if zero else np.empty(shape, self.P.dtype)
        return a

    def _blocks(self, lo: int, hi: int):
        """The sample blocks [b0, b1) of the chunk [lo, hi)."""
        return ((b0, min(hi, b0 + self.block)) for b0 in range(lo, hi, self.block))

    def _zero_wraps(self, M: np.ndarray) -> None:
        """Zero the entries of M : (n, C·KH·KW[+1], OH·W) that read across a row end.

        (Copying everything and zeroing these few columns is faster than copying around them.)
        """
        m = M[:, : self.ck].reshape(M.shape[0], self.C, self.kh, self.kw, self.oh, self.W)
        for v, lo, hi in self.wraps:
            if lo.stop:
                m[:, :, :, v, :, lo] = 0
            if hi.start < self.W:
                m[:, :, :, v, :, hi] = 0

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """x (N, C, H, W) -> y (N, O, OH, OW)."""
        if self.G > 1:
            return self._forward_groups(x, weight, bias)
        Wb = np.empty((self.O, self.ck + 1), dtype=weight.dtype)  # [W | b]
        Wb[:, :-1] = weight.reshape(self.O, self.ck)
        Wb[:, -1] = 0 if bias is None else bias
        full = self.ow == self.W
        y = np.empty((self.N, self.O, self.oh, self.W if full else self.ow), dtype=x.dtype)
        yq = y.reshape(self.N, self.O, self.q) if full else None

        def chunk(lo, hi):
            for b0, b1 in self._blocks(lo, hi):  # the GEMM reads the block's patches while they are in cache
                Pc = self._copy_patches(x, b0, b1)
                if full:
                    np.matmul(Wb, Pc, out=yq[b0:b1])
                else:  # positions j ≥ OW of each row are not outputs
                    yb = self._buf("y", lo, (self.block, self.O, self.q))[: b1 - b0]
                    np.matmul(Wb, Pc, out=yb)
                    y[b0:b1] = yb.reshape(b1 - b0, self.O, self.oh, self.W)[..., : self.ow]

        threads.parallel(chunk, self.N, self.N * self.O * (self.ck + 1) * self.q, itemsize=x.itemsize)
        return y

    def _copy_patches(self, x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """P[lo:hi] from x[lo:hi]: the one strided copy, with the reads across a row end zeroed."""
        self.interior[lo:hi] = x[lo:hi]
        Pc = self.P[lo:hi]
        np.copyto(Pc[:, :-1].reshape(hi - lo, self.C, self.kh, self.kw, self.q), self.view[lo:hi])
        self._zero_wraps(Pc)
        return Pc

    def _dq(self, dy: np.ndarray, lo: int, b0: int, b1: int) -> np.ndarray:
        """∂ℓ/∂y[b0:b1] as (n, O, OH·W): positions j ≥ OW of each row are not outputs, their gradient is 0."""
        n = b1 - b0
        if self.ow == self.W:
            return dy[b0:b1].reshape(n, self.O, self.q)
        dq = self._buf("dq", lo, (self.block, self.O, self.oh, self.W), zero=True)[:n]  # columns ≥ OW stay 0
        dq[..., : self.ow] = dy[b0:b1]
        return dq.reshape(n, self.O, self.q)

    def _dP(self, lo: int, n: int) -> np.ndarray:
        """The ∂ℓ/∂P buffer of a block of n samples, as (n, C·KH·KW, OH·W) for the GEMM to write into.

        Its rows are laid out (C·KH·KW, block, length): sample by sample, each sample's OH·W positions
        followed by zeros up to the padded image's length, so that every shift of ``_scatter`` is one long
        add per channel across the whole block. (The zeros are written once, at allocation.)
        """
        full = self._buf("dP", lo, (self.ck, self.block, self.length), zero=True)
        return full[:, :n, : self.q].transpose(1, 0, 2)

    def _scatter(self, dP: np.ndarray, dx: np.ndarray, lo: int, b0: int, b1: int) -> None:
        """dx[b0:b1] from ∂ℓ/∂P (a ``_dP`` view): the adjoint of the strided copy (wrapped reads dropped).

        Each pixel's sum is 0 + (its term at offset (0, 0)) + the others in (u, v) order, as from a zeroed
        buffer. A shift may carry a sample's zero tail onto the next sample's pixels: adding +0 changes
        nothing there (the sums start from +0, so they are never −0).
        """
        n, W, L = b1 - b0, self.W, self.length
        self._zero_wraps(dP)  # wrapped reads were padding: no gradient
        rows = self._scratch["dP", lo].reshape(self.C, self.kh * self.kw, -1)[:, :, : n * L]  # (C, KH·KW, n·L)
        dbuf = self._buf("dbuf", lo, (self.C, self.block * L))[:, : n * L]
        np.add(rows[:, 0], 0, out=dbuf)  # offset (0, 0) is a shift of 0
        for u in range(self.kh):
            for v in range(self.kw):
                off = u * self.dh * W + v * self.dw
                if off:
                    dbuf[:, off:] += rows[:, u * self.kw + v, : n * L - off]
        first = self.left + self.top * W
        img = dbuf.reshape(self.C, n, L)[:, :, first : first + self.H * W].reshape(self.C, n, self.H, W)
        dx[b0:b1] = img.transpose(1, 0, 2, 3)

    def _forward_groups(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """groups > 1: y[:, group g] = W_g @ P[:, rows of g] per sample, then + b."""
        G, Og, Kg = self.G, self.O // self.G, self.ck // self.G
        Wg = weight.reshape(G, Og, Kg)
        yq = np.empty((self.N, self.O, self.q), dtype=x.dtype)

        def chunk(lo, hi):
            for b0, b1 in self._blocks(lo, hi):
                Pc = self._copy_patches(x, b0, b1)
                for g in range(G):
                    np.matmul(Wg[g], Pc[:, g * Kg : (g + 1) * Kg], out=yq[b0:b1, g * Og : (g + 1) * Og])

        threads.parallel(chunk, self.N, self.N * self.O * Kg * self.q, itemsize=x.itemsize)
        y = yq.reshape(self.N, self.O, self.oh, self.W)
        y = y if self.ow == self.W else np.ascontiguousarray(y[..., : self.ow])
        if bias is not None:
            y += bias[:, None, None]
        return y

    def _backward_groups(self, dy: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """groups > 1: per group, ∂ℓ/∂W_g = Σₙ ∂ℓ/∂y_g P_gᵀ and ∂ℓ/∂P_g = W_gᵀ ∂ℓ/∂y_g; ∂ℓ/∂b = Σ ∂ℓ/∂y."""
        G, Og, Kg = self.G, self.O // self.G, self.ck // self.G
        WgT = np.ascontiguousarray(weight.reshape(G, Og, Kg).transpose(0, 2, 1))  # (G, Kg, Og)
        dx = np.empty((self.N, self.C, self.H, self.W), dtype=dy.dtype)
        per = np.empty((G, self.N, Kg, Og), dtype=dy.dtype)  # per group and sample: P_g ∂ℓ/∂y_gᵀ

        def chunk(lo, hi):
            for b0, b1 in self._blocks(lo, hi):
                dq = self._dq(dy, lo, b0, b1)
                dP = self._dP(lo, b1 - b0)
                for g in range(G):
                    rows, outs = slice(g * Kg, (g + 1) * Kg), slice(g * Og, (g + 1) * Og)
                    np.matmul(self.P[b0:b1, rows], dq[:, outs].transpose(0, 2, 1), out=per[g, b0:b1])
                    np.matmul(WgT[g], dq[:, outs], out=dP[:, rows])
                self._scatter(dP, dx, lo, b0, b1)

        work = self.N * self.O * Kg * self.q
        threads.parallel(chunk, self.N, work, backward=True, itemsize=dy.itemsize)
        gW = np.stack([sum_samples(per[g], work) for g in range(G)])  # (G, Kg, Og)
        return dx, np.ascontiguousarray(gW.transpose(0, 2, 1)).reshape(weight.shape), dy.sum(axis=(0, 2, 3))

    def backward(
        self, dy: np.ndarray, weight: np.ndarray, input_grad: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """(dx, dW, db) for dy (N, O, OH, OW), from the patch matrix of the last forward.

        ``input_grad=False`` (a first layer in training): dx is None, and neither the ∂ℓ/∂P GEMM nor the
        scatter runs; dW and db are the same numbers (the same GEMMs and sums).
        """
        if self.G > 1:
            return self._backward_groups(dy, weight)
        WT = np.ascontiguousarray(weight.reshape(self.O, self.ck).T)  # (C·KH·KW, O)
        dx = np.empty((self.N, self.C, self.H, self.W), dtype=dy.dtype) if input_grad else None
        per = self._buf("dW", 0, (self.N, self.ck + 1, self.O))  # per sample: [∂ℓ/∂W | ∂ℓ/∂b]ᵀ of that sample

        def chunk(lo, hi):
            for b0, b1 in self._blocks(lo, hi):
                dq = self._dq(dy, lo, b0, b1)
                # P[n] ∂ℓ/∂y[n]ᵀ: with P (C·KH·KW+1, OH·W) on the left OpenBLAS is up to 1.5× faster than
                # ∂ℓ/∂y[n] P[n]ᵀ, and a contiguous copy of ∂ℓ/∂y[n]ᵀ costs more than it saves
                np.matmul(self.P[b0:b1], dq.transpose(0, 2, 1), out=per[b0:b1])
                if dx is None:
                    continue
                dP = self._dP(lo, b1 - b0)
                np.matmul(WT, dq, out=dP)
                self._scatter(dP, dx, lo, b0, b1)  # ∂ℓ/∂P : (n, C·KH·KW, OH·W)

        work = self.N * self.O * (self.ck + 1) * self.q
        threads.parallel(chunk, self.N, work, backward=True, itemsize=dy.itemsize)
        g = sum_samples(per, work).T
        return dx, g[:, :-1].reshape(weight.shape), g[:, -1].copy()
