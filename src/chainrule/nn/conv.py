"""2-D convolution (cross-correlation, as every deep-learning framework computes it), NCHW.

    y[n, o, i, j] = b[o] + Σ_{c ∈ group(o)} Σ_{u,v} W[o, c, u, v] · xp[n, c, i·S + u·D, j·S + v·D]

Forward and backward are written on the shared window primitive (``core.windows``): the windows
of the padded input, laid out as a patch matrix, times the weight matrix (one GEMM per group):

    cols : (N, G, Cg·KH·KW, OH·OW)     W : (G, Og, Cg·KH·KW)     y = W @ cols
    ∂ℓ/∂W = Σₙ ∂ℓ/∂y · colsᵀ,   ∂ℓ/∂b = Σ_{n,i,j} ∂ℓ/∂y,   ∂ℓ/∂x = windows_backward(Wᵀ @ ∂ℓ/∂y)
"""

import numpy as np
from numpy.typing import DTypeLike

from chainrule.core import conv_flat, conv_strided, init, memory
from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module, Parameter, WeightInit, check_dtype


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: win.Pair,
    pads: win.Pads,
    dilation: win.Pair,
    groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(y, cols): x (N, C, H, W), weight (O, C/G, KH, KW) -> y (N, O, OH, OW); cols is the patch matrix."""
    N, C = x.shape[:2]
    O, Cg, kh, kw = weight.shape
    G, Og = groups, O // groups
    xp = win.pad(x, pads)
    w6 = win.windows(xp, (kh, kw), stride, dilation)  # (N, C, OH, OW, KH, KW)
    oh, ow = w6.shape[2:4]
    # (N, C, OH, OW, KH, KW) -> (N, G, Cg, KH, KW, OH, OW): the one copy (im2col)
    cols = w6.reshape(N, G, Cg, oh, ow, kh, kw).transpose(0, 1, 2, 5, 6, 3, 4)
    cols = np.ascontiguousarray(cols).reshape(N, G, Cg * kh * kw, oh * ow)
    y = weight.reshape(G, Og, Cg * kh * kw) @ cols  # (N, G, Og, OH·OW)
    y = y.reshape(N, O, oh, ow)
    if bias is not None:
        y += bias[:, None, None]
    return y, cols


def conv2d_backward(
    dy: np.ndarray,
    cols: np.ndarray,
    weight: np.ndarray,
    x_shape: tuple[int, ...],
    stride: win.Pair,
    pads: win.Pads,
    dilation: win.Pair,
    groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dW, db) for dy (N, O, OH, OW), given the forward's patch matrix ``cols``."""
    N, C, H, W = x_shape
    O, Cg, kh, kw = weight.shape
    G, Og = groups, O // groups
    oh, ow = dy.shape[2:]
    dyg = dy.reshape(N, G, Og, oh * ow)
    dW = np.einsum("ngop,ngkp->gok", dyg, cols, optimize=True).reshape(weight.shape)
    db = dy.sum(axis=(0, 2, 3))
    return conv2d_input_grad(dy, weight, (H, W), stride, pads, dilation, groups), dW, db


def conv2d_input_grad(
    dy: np.ndarray,
    weight: np.ndarray,
    hw: "tuple[int, int]",
    stride: win.Pair,
    pads: win.Pads,
    dilation: win.Pair,
    groups: int,
) -> np.ndarray:
    """∂ℓ/∂x of a Conv2d: dy (N, O, OH, OW), weight (O, C/G, KH, KW) -> (N, C, H, W) for hw = (H, W).

    Wᵀ @ dy gives each window's gradient; ``windows_backward`` adds them onto the pixels they read.
    The same map is ConvTranspose2d's forward (nn/conv_transpose.py): the adjoint of the convolution.
    """
    N, O, oh, ow = dy.shape
    _, Cg, kh, kw = weight.shape
    G, Og = groups, O // groups
    dyg = dy.reshape(N, G, Og, oh * ow)
    dcols = weight.reshape(G, Og, Cg * kh * kw).transpose(0, 2, 1) @ dyg  # (N, G, Cg·KH·KW, OH·OW)
    dwin = dcols.reshape(N, G * Cg, kh, kw, oh, ow).transpose(0, 1, 4, 5, 2, 3)  # (N, C, OH, OW, KH, KW)
    return win.windows_backward(dwin, hw, pads, stride, dilation)


class Conv2d(Module):
    """2-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).

    weight : (out_channels, in_channels/groups, KH, KW)     bias : (out_channels,)
    x : (N, C_in, H, W) or (C_in, H, W)  ->  y : (N, C_out, OH, OW) or (C_out, OH, OW)
    OH = ⌊(H + 2P − D(K−1) − 1)/S⌋ + 1. ``padding`` may be 'same' (OH = ⌈H/S⌉, also for S > 1,
    which PyTorch refuses) or 'valid' (no padding). ``groups = in_channels`` is depthwise.

    ``path`` picks the kernel: "auto" (the flat-layout fast path of ``core.conv_flat`` where it
    applies — stride 1, any dilation or groups, at most a fifth of its row positions unused — else the
    batch-wide one of ``core.conv_strided``),
    "im2col", "flat" or "strided". All give the same numbers (to rounding: the GEMMs group their sums
    differently; "strided" gives im2col's forward and ∂ℓ/∂x bit for bit).
    """

    PATHS = ("auto", "im2col", "flat", "strided")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int]" = 1,
        padding: "int | tuple[int, int] | str" = 0,
        dilation: "int | tuple[int, int]" = 1,
        groups: int = 1,
        bias: bool = True,
        dtype: DTypeLike = np.float64,
        rng: "np.random.Generator | int | None" = None,
    ) -> None:
        self.in_channels = _count(in_channels, "in_channels")
        self.out_channels = _count(out_channels, "out_channels")
        self.groups = _count(groups, "groups")
        for name, n in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if n % self.groups:
                raise ChainruleError(
                    f"{name}={n} is not divisible by groups={self.groups}; each group needs a whole number of channels"
                )
        self.kernel_size = win.pair(kernel_size, "kernel_size")
        self.stride = win.pair(stride, "stride")
        self.dilation = win.pair(dilation, "dilation")
        self.padding = win.padding_arg(padding)
        dt = check_dtype(dtype)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        n = int(np.prod(shape, dtype=object)) + (self.out_channels if bias else 0)
        memory.check_parameters(f"{type(self).__name__}({self.in_channels}→{self.out_channels})", n, dt.itemsize)
        self.weight = Parameter(np.empty(shape, dt))
        self.bias = Parameter(np.empty((self.out_channels,), dt)) if bias else None
        self.reset_parameters(init.as_generator(rng))
        # forward's (patch matrix, or None on the flat path; input shape; pads; unbatched) for backward
        self._cache: tuple[np.ndarray | None, tuple[int, ...], win.Pads, bool] | None = None
        self.path = "auto"
        self._flat: conv_flat.FlatConv | None = None  # buffers reused while the input shape stays the same
        self._strided: conv_strided.StridedConv | None = None  # the same, for every other convolution
        self._fast: conv_flat.FlatConv | conv_strided.StridedConv | None = None  # the one the last forward used

    def pads(self, hw: win.Pair) -> win.Pads:
        """(top, bottom, left, right) padding for an H×W input."""
        return win.pads_for(hw, self.kernel_size, self.stride, self.dilation, self.padding)

    def reset_parameters(
        self, rng: "np.random.Generator | int | None" = None, weight_init: WeightInit | None = None
    ) -> None:
        init.reset_weight_and_bias(self.weight, self.bias, init.as_generator(rng), weight_init)

    def output_hw(self, hw: "tuple[int, ...]") -> tuple[int, int]:
        """(OH, OW) for an H×W input (a clear error when the kernel does not fit)."""
        h, w = hw
        return win.output_shape((h, w), self.kernel_size, self.stride, self.padding, self.dilation)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """(out_channels, OH, OW) for a (C, H, W) input."""
        if len(input_shape) != 3:
            raise ChainruleError(
                f"input to {self!r} has shape {tuple(input_shape)} per example; expected "
                f"one ({self.in_channels}, H, W) image"
            )
        if input_shape[0] != self.in_channels:
            raise ChainruleError(
                f"input to {self!r} has {input_shape[0]} channel(s) (shape "
                f"{tuple(input_shape)}); the layer expects {self.in_channels}"
            )
        return (self.out_channels, *self.output_hw(input_shape[1:]))

    def forward(self, x: np.ndarray) -> np.ndarray:
        W = self.weight.data
        b = None if self.bias is None else self.bias.data
        # the checks, the pads and the choice of path, worked out once per input shape and settings
        # (a training loop calls with one shape; at 8×8 they cost a quarter of the layer)
        settings = (x.shape, x.dtype, W.shape, W.dtype, self.kernel_size, self.stride, self.padding, self.dilation)
        plan = self.__dict__.get("_plan")
        if plan is None or plan[0] != settings or plan[1] != (self.groups, self.path):
            pads, path = self._plan_for(x)
            plan = self._plan = (settings, (self.groups, self.path), pads, path, self._kernel(path, x, pads))
        pads, path, kernel = plan[2], plan[3], plan[4]
        unbatched = x.ndim == 3
        x4 = x[None] if unbatched else x
        if x4.dtype != W.dtype:
            x4 = x4.astype(W.dtype)
        if kernel is not None:
            self._fast = kernel
            y = kernel.forward(x4, W, b)
            self._cache = (None, x4.shape, pads, unbatched)
        else:
            y, cols = conv2d_forward(x4, W, b, self.stride, pads, self.dilation, self.groups)
            self._cache = (cols, x4.shape, pads, unbatched)
        return y[0] if unbatched else y

    def _kernel(self, path: str, x: np.ndarray, pads: win.Pads) -> conv_flat.FlatConv | conv_strided.StridedConv | None:
        """The fast path's kernel (its buffers) for this input shape, kept while the shape stays; None: im2col."""
        shape, W = (1, *x.shape) if x.ndim == 3 else x.shape, self.weight.data
        if path == "flat":
            key = (shape, W.shape, pads, self.dilation, W.dtype, self.groups)
            if self._flat is None or self._flat.key != key:
                self._flat = conv_flat.FlatConv(*key)
            return self._flat
        if path == "strided":
            skey = (shape, W.shape, self.stride, pads, self.dilation, W.dtype, self.groups)
            if self._strided is None or self._strided.key != skey:
                self._strided = conv_strided.StridedConv(*skey)
            return self._strided
        return None

    def _plan_for(self, x: np.ndarray) -> tuple[win.Pads, str]:
        """(pads, the path to run) for input x, or the readable error when it does not fit."""
        x4, _ = win.as_nchw(x, repr(self), self.in_channels)
        hw = x4.shape[2:]
        pads, _ = win.pads_and_shape(hw, self.kernel_size, self.stride, self.padding, self.dilation)
        return pads, self._pick_path(pads, hw[1])

    @property
    def patch_matrix(self) -> np.ndarray:
        """The windows the last forward multiplied by the weights (im2col path; set ``path = "im2col"``).

        (N, G, Cg·KH·KW, OH·OW): row (c, u, v), column (i, j) holds xp[n, g·Cg + c, i·S + u·D, j·S + v·D].
        """
        if self._cache is None or self._cache[0] is None:
            raise ChainruleError("no patch matrix: run forward with Conv2d.path = 'im2col' first")
        return self._cache[0]

    @property
    def last_pads(self) -> win.Pads:
        """(top, bottom, left, right): the padding the last forward used."""
        if self._cache is None:
            raise ChainruleError("no padding yet: run forward first")
        return self._cache[2]

    def _pick_path(self, pads: win.Pads, width: int) -> str:
        """The kernel this forward runs: "flat", "strided" or "im2col"."""
        if self.path not in self.PATHS:
            raise ChainruleError(f"Conv2d.path is {self.path!r}; expected one of {', '.join(self.PATHS)}")
        if self.path in ("im2col", "strided"):
            return self.path
        ok = conv_flat.supported(self.stride, pads, self.dilation, self.groups, self.kernel_size, width)
        if self.path == "flat" and not ok:
            raise ChainruleError(
                f"Conv2d.path 'flat' needs stride 1 and padding ≤ what 'same' adds; this layer is {self!r}"
            )
        if self.path == "flat":
            return "flat"
        # the flat layout computes W positions per output row for OW outputs: when it would throw away more
        # than a fifth of its GEMM work ('valid' padding on a small map), the batch-wide strided path is faster
        # (thread CPU, 1 thread, float32, batch 64: 6→16 5×5 on 14², OW/W = 0.71, 3.4 vs 4.9 ms; 32→64 3×3 on
        # 7², 0.71, 3.7 vs 6.3 ms; at 0.8–0.86 the two tie; 8→8 3×3 on 28², 0.93, flat 8.7 vs 10.4 ms)
        ow = width + pads[2] + pads[3] - self.dilation[1] * (self.kernel_size[1] - 1)
        return "flat" if ok and 5 * ow >= 4 * width else "strided"

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self._backward(dy, True)
        assert dx is not None
        return dx

    def backward_params(self, dy: np.ndarray) -> None:
        """Only the parameter gradients: a first layer's ∂ℓ/∂x is not needed to train (the flat path then
        skips its ∂ℓ/∂P GEMM and scatter, the larger part of its backward; the other paths drop dx)."""
        self._backward(dy, False)

    def _backward(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None:
        assert self._cache is not None, "backward() before forward()"
        cols, x_shape, pads, unbatched = self._cache
        dy4 = dy[None] if unbatched else dy
        if cols is None:
            assert self._fast is not None  # the fast path's forward made it
            if isinstance(self._fast, conv_flat.FlatConv):
                dx, dW, db = self._fast.backward(np.ascontiguousarray(dy4), self.weight.data, input_grad)
            else:
                dx, dW, db = self._fast.backward(np.ascontiguousarray(dy4), self.weight.data)
        else:
            dx, dW, db = conv2d_backward(
                dy4, cols, self.weight.data, x_shape, self.stride, pads, self.dilation, self.groups
            )
        self.weight.grad += dW
        if self.bias is not None:
            self.bias.grad += db
        if dx is None or not input_grad:
            return None
        return dx[0] if unbatched else dx

    def config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ChainruleError(f"{name} must be a whole number ≥ 1, got {value!r}")
    return int(value)
