"""Max and average pooling over KH×KW windows, NCHW, on the same window primitive as convolution.

max:  y[n, c, i, j] = max_{u,v} xp[n, c, i·S + u·D, j·S + v·D]     (xp padded with −∞)
      ∂ℓ/∂x goes to the window's (first) maximum, accumulating where windows overlap.
avg:  y[n, c, i, j] = (1 / KH·KW) Σ_{u,v} xp[n, c, i·S + u, j·S + v]   (xp padded with 0;
      PyTorch's count_include_pad=True), so ∂ℓ/∂x spreads ∂ℓ/∂y evenly over each window.
"""

import numpy as np

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module


class _Pool2d(Module):
    """Shared arguments: kernel_size, stride (default = kernel_size), padding ≥ 0 (at most half a kernel)."""

    dilation = (1, 1)  # MaxPool2d sets its own; AvgPool2d has none (as in PyTorch)

    def __init__(
        self,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int] | None" = None,
        padding: "int | tuple[int, int]" = 0,
    ) -> None:
        self.kernel_size = win.pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else win.pair(stride, "stride")
        self.padding = win.pair(padding, "padding", minimum=0)
        self._cache: tuple | None = None  # forward's arrays and shapes, for backward (each pool its own)

    def _check_padding(self, kernel: win.Pair) -> None:
        # PyTorch's rule; more padding would allow windows that see nothing but padding
        for p, e in zip(self.padding, kernel, strict=True):
            if p > e // 2:
                raise ChainruleError(
                    f"{type(self).__name__} padding {self.padding} is more than half the "
                    f"kernel {self.kernel_size}; padding must be ≤ {e // 2}"
                )

    def pads(self, hw: win.Pair) -> win.Pads:
        """(top, bottom, left, right) padding for an H×W input."""
        return win.pads_for(hw, self.kernel_size, self.stride, self.dilation, self.padding)

    def output_hw(self, hw: "tuple[int, ...]") -> tuple[int, int]:
        h, w = hw
        return win.output_shape((h, w), self.kernel_size, self.stride, self.padding, self.dilation)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, OH, OW) for a (C, H, W) input (or (OH, OW) for H×W)."""
        if len(input_shape) not in (2, 3):
            raise ChainruleError(f"input to {self!r} has shape {tuple(input_shape)} per example; it expects (C, H, W)")
        return (*input_shape[:-2], *self.output_hw(input_shape[-2:]))

    def _windows(self, x: np.ndarray, fill: float) -> tuple[np.ndarray, bool, np.ndarray, win.Pads]:
        """(x as NCHW, unbatched?, windows view (N, C, OH, OW, KH, KW), pads)."""
        x4, unbatched = win.as_nchw(x, repr(self))
        # one computation: the pads, and a readable error when the kernel does not fit
        pads, _ = win.pads_and_shape(x4.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation)
        xp = win.pad(x4, pads, fill)
        return x4, unbatched, win.windows(xp, self.kernel_size, self.stride, self.dilation), pads

    def config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}

    def extra_repr(self) -> str:
        def short(p: win.Pair) -> "int | win.Pair":
            return p[0] if p[0] == p[1] else p

        s = f"kernel_size={short(self.kernel_size)}, stride={short(self.stride)}"
        if self.padding != (0, 0):
            s += f", padding={short(self.padding)}"
        if self.dilation != (1, 1):
            s += f", dilation={short(self.dilation)}"
        return s


class MaxPool2d(_Pool2d):
    """Max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html).

    x : (N, C, H, W) or (C, H, W)  ->  y : (N, C, OH, OW) or (C, OH, OW)
    """

    def __init__(
        self,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int] | None" = None,
        padding: "int | tuple[int, int]" = 0,
        dilation: "int | tuple[int, int]" = 1,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = win.pair(dilation, "dilation")
        self._check_padding(self.kernel_size)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x4, unbatched, w6, pads = self._windows(x, -np.inf)
        N, C, oh, ow, kh, kw = w6.shape
        # one slab per kernel offset: a max across slabs is an elementwise maximum, far cheaper in
        # NumPy than reducing a short last axis of the windows view
        slabs = w6.transpose(4, 5, 0, 1, 2, 3).reshape(kh * kw, N, C, oh, ow)
        y = slabs.max(axis=0)  # (N, C, OH, OW)
        self._cache = (slabs, y, x4.shape, pads, unbatched)
        return y[0] if unbatched else y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        slabs, y, (N, C, H, W), pads, unbatched = self._cache
        dy4 = dy[None] if unbatched else dy
        kh, kw = self.kernel_size
        # ∂ℓ/∂y goes to the first slab that holds the maximum (PyTorch's tie rule: the first index)
        dslabs = np.empty_like(slabs)
        taken = np.zeros(y.shape, dtype=bool)
        for k in range(kh * kw):
            hit = slabs[k] == y
            hit &= ~taken
            taken |= hit
            np.multiply(hit, dy4, out=dslabs[k])
        dwin = dslabs.reshape(kh, kw, *dy4.shape).transpose(2, 3, 4, 5, 0, 1)  # (N, C, OH, OW, KH, KW)
        dx = win.windows_backward(dwin, (H, W), pads, self.stride, self.dilation)
        return dx[0] if unbatched else dx

    def config(self) -> dict:
        return {**super().config(), "dilation": list(self.dilation)}


class AvgPool2d(_Pool2d):
    """Average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html),
    count_include_pad=True: the divisor is always KH·KW.

    x : (N, C, H, W) or (C, H, W)  ->  y : (N, C, OH, OW) or (C, OH, OW)
    """

    def __init__(
        self,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int] | None" = None,
        padding: "int | tuple[int, int]" = 0,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self._check_padding(self.kernel_size)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x4, unbatched, w6, pads = self._windows(x, 0.0)
        y = w6.mean(axis=(-2, -1))
        self._cache = (x4.shape, pads, unbatched)
        return y[0] if unbatched else y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        (N, C, H, W), pads, unbatched = self._cache
        dy4 = dy[None] if unbatched else dy
        kh, kw = self.kernel_size
        share = np.broadcast_to((dy4 / (kh * kw))[..., None, None], (*dy4.shape, kh, kw))
        dx = win.windows_backward(share, (H, W), pads, self.stride)
        return dx[0] if unbatched else dx
