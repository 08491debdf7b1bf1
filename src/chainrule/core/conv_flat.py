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

Grouped (and depthwise) convolutions use the same patch matrix: group g's rows (c, u, v), c in its Cg
channels, are one contiguous block, so each group is one matmul per sample on its block and the bias
is added afterwards (the ones row serves groups = 1 only, whose arithmetic is unchanged).

Supported: stride 1, any dilation and groups, and OW ≤ W (left + right padding ≤ D_w(KW − 1), e.g.
'same', 'valid').
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.core import threads
from chainrule.core import windows as win

# Until ∂ℓ/∂W's grouping is independent of the thread count: above this many multiply-adds the backward
# sums ∂ℓ/∂W over get_num_threads() chunks (threaded or not), as it always has, so its bytes stay.
GROUPING_WORK = 200_000


def supported(stride, pads, dilation, groups, kernel, width) -> bool:
    """Whether this layout can compute the convolution (else use im2col)."""
    ext_w = dilation[1] * (kernel[1] - 1) + 1
    return tuple(stride) == (1, 1) and pads[2] + pads[3] <= ext_w - 1 and width + pads[2] + pads[3] - ext_w + 1 >= 1


def _blas_single() -> threads.blas_single:
    """A context manager that makes BLAS single-threaded for its duration (core.threads says why)."""
    return threads.blas_single()


def _parallel(fn, n: int, work: int, backward: bool = False, itemsize: int = 4) -> None:
    """Run fn(lo, hi) over [0, n) in up to get_num_threads() chunks, BLAS single-threaded.

    The chunks run in threads (one in this thread) when ``work`` multiply-adds reach the pass's measured
    threshold (core.threads.CONV_FORWARD_SPLIT / CONV_BACKWARD_SPLIT, in float32 multiply-adds: one of
    ``itemsize`` bytes counts itemsize / 4); below, a hand-off costs more than it saves and the pass runs
    here: a forward as one chunk, a backward (whose chunks' ∂ℓ/∂W are summed) in the same chunks one
    after another. BLAS stays single-threaded: OpenBLAS threads on these small GEMMs cost more than they
    bring, and they spin after.
    """
    k = min(threads.THREADS, n) if work >= GROUPING_WORK else 1  # no empty chunk (two would share a key lo)
    threaded = work * itemsize // 4 >= (threads.CONV_BACKWARD_SPLIT if backward else threads.CONV_FORWARD_SPLIT)
    with threads.blas_single():
        if k == 1 or not (threaded or backward):
            fn(0, n)
            return
        threads.run_chunks(fn, [n * i // k for i in range(k + 1)], threaded)


class FlatConv:
    """Buffers and kernels for one input shape (N, C, H, W), kernel, padding, dilation and dtype.

    ``forward`` keeps the patch matrix in its buffer for ``backward``: one cache per forward.
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
            Pc = self._copy_patches(x, lo, hi)
            if full:
                np.matmul(Wb, Pc, out=yq[lo:hi])
            else:  # positions j ≥ OW of each row are not outputs
                y[lo:hi] = (Wb @ Pc).reshape(hi - lo, self.O, self.oh, self.W)[..., : self.ow]

        _parallel(chunk, self.N, self.N * self.O * (self.ck + 1) * self.q, itemsize=x.itemsize)
        return y

    def _copy_patches(self, x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """P[lo:hi] from x[lo:hi]: the one strided copy, with the reads across a row end zeroed."""
        self.interior[lo:hi] = x[lo:hi]
        Pc = self.P[lo:hi]
        np.copyto(Pc[:, :-1].reshape(hi - lo, self.C, self.kh, self.kw, self.q), self.view[lo:hi])
        self._zero_wraps(Pc)
        return Pc

    def _dq(self, dy: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """∂ℓ/∂y[lo:hi] as (n, O, OH·W): positions j ≥ OW of each row are not outputs, their gradient is 0."""
        n = hi - lo
        if self.ow == self.W:
            return dy[lo:hi].reshape(n, self.O, self.q)
        dq = np.zeros((n, self.O, self.oh, self.W), dtype=dy.dtype)
        dq[..., : self.ow] = dy[lo:hi]
        return dq.reshape(n, self.O, self.q)

    def _scatter(self, dP: np.ndarray, dx: np.ndarray, lo: int, hi: int) -> None:
        """dx[lo:hi] from ∂ℓ/∂P (n, C·KH·KW, OH·W): the adjoint of the strided copy (wrapped reads dropped)."""
        n, W = hi - lo, self.W
        self._zero_wraps(dP)  # wrapped reads were padding: no gradient
        dP = dP.reshape(n, self.C, self.kh, self.kw, self.q)
        dbuf = np.zeros((n, self.C, self.length), dtype=dP.dtype)
        for u in range(self.kh):
            for v in range(self.kw):
                off = u * self.dh * W + v * self.dw
                dbuf[:, :, off : off + self.q] += dP[:, :, u, v]
        dx[lo:hi] = dbuf[:, :, self.left + self.top * W : self.left + (self.top + self.H) * W].reshape(
            n, self.C, self.H, W
        )

    def _forward_groups(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """groups > 1: y[:, group g] = W_g @ P[:, rows of g] per sample, then + b."""
        G, Og, Kg = self.G, self.O // self.G, self.ck // self.G
        Wg = weight.reshape(G, Og, Kg)
        yq = np.empty((self.N, self.O, self.q), dtype=x.dtype)

        def chunk(lo, hi):
            Pc = self._copy_patches(x, lo, hi)
            for g in range(G):
                np.matmul(Wg[g], Pc[:, g * Kg : (g + 1) * Kg], out=yq[lo:hi, g * Og : (g + 1) * Og])

        _parallel(chunk, self.N, self.N * self.O * Kg * self.q, itemsize=x.itemsize)
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
        grads = {}

        def chunk(lo, hi):
            dq = self._dq(dy, lo, hi)
            dP = np.empty((hi - lo, self.ck, self.q), dtype=dy.dtype)
            gW = np.empty((G, Kg, Og), dtype=dy.dtype)
            for g in range(G):
                rows, outs = slice(g * Kg, (g + 1) * Kg), slice(g * Og, (g + 1) * Og)
                gW[g] = np.matmul(self.P[lo:hi, rows], dq[:, outs].transpose(0, 2, 1)).sum(axis=0)
                np.matmul(WgT[g], dq[:, outs], out=dP[:, rows])
            grads[lo] = gW
            self._scatter(dP, dx, lo, hi)

        _parallel(chunk, self.N, self.N * self.O * Kg * self.q, backward=True, itemsize=dy.itemsize)
        gW = sum(grads[k] for k in sorted(grads))  # a fixed order: the same bytes on every run
        return dx, np.ascontiguousarray(gW.transpose(0, 2, 1)).reshape(weight.shape), dy.sum(axis=(0, 2, 3))

    def backward(self, dy: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dx, dW, db) for dy (N, O, OH, OW), from the patch matrix of the last forward."""
        if self.G > 1:
            return self._backward_groups(dy, weight)
        WT = np.ascontiguousarray(weight.reshape(self.O, self.ck).T)  # (C·KH·KW, O)
        dx = np.empty((self.N, self.C, self.H, self.W), dtype=dy.dtype)
        grads = {}

        def chunk(lo, hi):
            dq = self._dq(dy, lo, hi)
            # [∂ℓ/∂W | ∂ℓ/∂b]ᵀ = Σₙ P[n] ∂ℓ/∂y[n]ᵀ: with P (C·KH·KW+1, OH·W) on the left OpenBLAS is up
            # to 1.5× faster than ∂ℓ/∂y[n] P[n]ᵀ, and a contiguous copy of ∂ℓ/∂y[n]ᵀ costs more than it saves
            grads[lo] = np.matmul(self.P[lo:hi], dq.transpose(0, 2, 1)).sum(axis=0)
            self._scatter(np.matmul(WT, dq), dx, lo, hi)  # ∂ℓ/∂P : (n, C·KH·KW, OH·W)

        _parallel(chunk, self.N, self.N * self.O * (self.ck + 1) * self.q, backward=True, itemsize=dy.itemsize)
        g = sum(grads[k] for k in sorted(grads)).T  # a fixed order: the same bytes on every run
        return dx, g[:, :-1].reshape(weight.shape), g[:, -1].copy()
