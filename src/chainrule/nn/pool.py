"""Max and average pooling over KH×KW windows, NCHW, on the same window primitive as convolution.

max:  y[n, c, i, j] = max_{u,v} xp[n, c, i·S + u·D, j·S + v·D]     (xp padded with −∞)
      ∂ℓ/∂x goes to the window's (first) maximum, accumulating where windows overlap.
avg:  y[n, c, i, j] = (1 / d[i, j]) Σ_{u,v} xp[n, c, i·S + u, j·S + v]   (xp padded with 0), so ∂ℓ/∂x
      spreads ∂ℓ/∂y[i, j] / d[i, j] over each window. d = KH·KW (PyTorch's count_include_pad=True,
      the default) or, with count_include_pad=False, the number of real input pixels in the window.

ceil_mode=True (PyTorch's rule): O = ⌈(H + 2P − D(K−1) − 1)/S⌉ + 1, less one when the last window
would start in the bottom/right padding; the last windows may then hang over the padded input. The
overhang is padded like the padding (−∞ / 0) but, as in PyTorch, never counted in an average's divisor.
"""

import numpy as np

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module


class _Pool2d(Module):
    """Shared arguments: kernel_size, stride (default = kernel_size), padding ≥ 0 (at most half a kernel),
    ceil_mode (round the output size up)."""

    dilation = (1, 1)  # MaxPool2d sets its own; AvgPool2d has none (as in PyTorch)

    def __init__(
        self,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int] | None" = None,
        padding: "int | tuple[int, int]" = 0,
        ceil_mode: bool = False,
    ) -> None:
        self.kernel_size = win.pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else win.pair(stride, "stride")
        self.padding = win.pair(padding, "padding", minimum=0)
        self.ceil_mode = _flag(ceil_mode, "ceil_mode", type(self).__name__)
        self._cache: tuple | None = None  # forward's arrays and shapes, for backward (each pool its own)

    def _check_padding(self, kernel: win.Pair) -> None:
        # PyTorch's rule; more padding would allow windows that see nothing but padding
        for p, e in zip(self.padding, kernel, strict=True):
            if p > e // 2:
                raise ChainruleError(
                    f"{type(self).__name__} padding {self.padding} is more than half the "
                    f"kernel {self.kernel_size}; padding must be ≤ {e // 2}"
                )

    def pads(self, hw: "tuple[int, ...]") -> win.Pads:
        """(top, bottom, left, right) padding for an H×W input, the ceil_mode overhang included."""
        return self._pads_and_shape(hw)[0]

    def _pads_and_shape(self, hw: "tuple[int, ...]") -> tuple[win.Pads, tuple[int, int]]:
        # the floor-mode calculation first: it raises the readable error when the kernel does not fit
        h, w = win.size_steps((hw[0], hw[1]), self.kernel_size, self.stride, self.padding, self.dilation)
        if not self.ceil_mode:
            return (h.pad_before, h.pad_after, w.pad_before, w.pad_after), (h.output, w.output)
        extra, out = [], []
        for a in (h, w):
            o = -(-a.minus_kernel // a.stride) + 1
            if (o - 1) * a.stride >= a.size + a.pad_before:  # PyTorch: the last window starts inside
                o -= 1
            extra.append(max(0, (o - 1) * a.stride + a.extent - a.padded))
            out.append(o)
        return (h.pad_before, h.pad_after + extra[0], w.pad_before, w.pad_after + extra[1]), (out[0], out[1])

    def output_hw(self, hw: "tuple[int, ...]") -> tuple[int, int]:
        return self._pads_and_shape(hw)[1]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, OH, OW) for a (C, H, W) input (or (OH, OW) for H×W)."""
        if len(input_shape) not in (2, 3):
            raise ChainruleError(f"input to {self!r} has shape {tuple(input_shape)} per example; it expects (C, H, W)")
        return (*input_shape[:-2], *self.output_hw(input_shape[-2:]))

    def _windows(self, x: np.ndarray, fill: float) -> tuple[np.ndarray, bool, np.ndarray, win.Pads]:
        """(x as NCHW, unbatched?, windows view (N, C, OH, OW, KH, KW), pads)."""
        x4, unbatched = win.as_nchw(x, repr(self))
        pads = self.pads(x4.shape[2:])
        xp = win.pad(x4, pads, fill)
        return x4, unbatched, win.windows(xp, self.kernel_size, self.stride, self.dilation), pads

    def config(self) -> dict:
        cfg: dict = {"kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}
        if self.ceil_mode:  # only when set: model files written before the option keep their bytes
            cfg["ceil_mode"] = True
        return cfg

    def extra_repr(self) -> str:
        def short(p: win.Pair) -> "int | win.Pair":
            return p[0] if p[0] == p[1] else p

        s = f"kernel_size={short(self.kernel_size)}, stride={short(self.stride)}"
        if self.padding != (0, 0):
            s += f", padding={short(self.padding)}"
        if self.dilation != (1, 1):
            s += f", dilation={short(self.dilation)}"
        if self.ceil_mode:
            s += ", ceil_mode=True"
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
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = win.pair(dilation, "dilation")
        self._check_padding(self.kernel_size)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x4, unbatched = (x, False) if x.ndim == 4 else win.as_nchw(x, repr(self))
        pads, tiles = self._plan(x4.shape[2:])
        kh, kw = self.kernel_size
        if tiles:  # the windows tile the image: split each axis into (window, offset), a view
            N, C, H, W = x4.shape
            oh, ow = H // kh, W // kw
            x6 = x4[:, :, : oh * kh, : ow * kw].reshape(N, C, oh, kh, ow, kw)
            w6 = x6.transpose(0, 1, 2, 4, 3, 5)  # (N, C, OH, OW, KH, KW), what ``windows`` gives
        else:
            w6 = win.windows(win.pad(x4, pads, -np.inf), self.kernel_size, self.stride, self.dilation)
        N, C, oh, ow = w6.shape[:4]
        # one slab per kernel offset: a max across slabs is an elementwise maximum, far cheaper in
        # NumPy than reducing a short last axis of the windows view
        slabs = w6.transpose(4, 5, 0, 1, 2, 3).reshape(kh * kw, N, C, oh, ow)
        y = slabs.max(axis=0)  # (N, C, OH, OW)
        self._cache = (slabs, y, x4.shape, pads, unbatched, tiles)
        return y[0] if unbatched else y

    def _plan(self, hw: "tuple[int, ...]") -> tuple[win.Pads, bool]:
        """(pads, whether the windows tile the image: stride = kernel, no padding, no dilation), per shape.

        Worked out once per input size and settings (a training loop calls forward with one shape).
        """
        key = (hw, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        plan = self.__dict__.get("_plan_cache")
        if plan is None or plan[0] != key:
            pads = self.pads(hw)
            tiles = self.stride == self.kernel_size and self.dilation == (1, 1) and not any(pads)
            plan = self._plan_cache = (key, pads, tiles)
        return plan[1], plan[2]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        slabs, y, (N, C, H, W), pads, unbatched, tiles = self._cache
        dy4 = dy[None] if unbatched else dy
        kh, kw = self.kernel_size
        # ∂ℓ/∂y goes to the first slab that holds the maximum (PyTorch's tie rule: the first index):
        # hit[k] = slab k equals the max and no earlier slab did, each step vectorised over every window
        hit = np.equal(slabs, y)  # (KH·KW, N, C, OH, OW)
        taken = hit[0].copy() if len(hit) > 2 else hit[0]
        for k in range(1, len(hit)):
            np.greater(hit[k], taken, out=hit[k])  # hit and not taken
            if k < len(hit) - 1:
                taken |= hit[k]
        if not tiles:
            dslabs = np.multiply(hit, dy4)  # (KH·KW, N, C, OH, OW): ∂ℓ/∂y at each first maximum, ±0 elsewhere
            dwin = dslabs.reshape(kh, kw, *dy4.shape).transpose(2, 3, 4, 5, 0, 1)  # (N, C, OH, OW, KH, KW)
            dx = win.windows_backward(dwin, (H, W), pads, self.stride, self.dilation)
            return dx[0] if unbatched else dx
        # tiling windows: each pixel lies in at most one window, so the scatter-add is one product
        # written straight into place per offset; + 0.0 then gives what windows_backward's 0 + … gives
        # (+0 where ∂ℓ/∂y·0 was −0)
        oh, ow = dy4.shape[2:]
        dx = np.empty((N, C, H, W), dtype=slabs.dtype)
        dx[:, :, oh * kh :] = 0  # rows and columns no window reaches
        dx[:, :, :, ow * kw :] = 0
        dx6 = dx[:, :, : oh * kh, : ow * kw].reshape(N, C, oh, kh, ow, kw)
        for k in range(kh * kw):
            np.multiply(hit[k], dy4, out=dx6[:, :, :, k // kw, :, k % kw])
        dx += 0.0
        return dx[0] if unbatched else dx

    def config(self) -> dict:
        return {**super().config(), "dilation": list(self.dilation)}


class AvgPool2d(_Pool2d):
    """Average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html).

    count_include_pad=True (the default): the divisor is KH·KW, padded zeros included; False: the
    number of real input pixels under the window. x : (N, C, H, W) or (C, H, W) -> y : (N, C, OH, OW)
    or (C, OH, OW).
    """

    def __init__(
        self,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int] | None" = None,
        padding: "int | tuple[int, int]" = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = _flag(count_include_pad, "count_include_pad", "AvgPool2d")
        self._check_padding(self.kernel_size)

    def divisors(self, hw: "tuple[int, ...]") -> np.ndarray:
        """d : (OH, OW), each window's divisor for an H×W input (what PyTorch divides by)."""
        pads, (oh, ow) = self._pads_and_shape(hw)
        per_axis = []
        for size, o, k, s, before, after in (
            (hw[0], oh, self.kernel_size[0], self.stride[0], pads[0], self.padding[0]),
            (hw[1], ow, self.kernel_size[1], self.stride[1], pads[2], self.padding[1]),
        ):
            start = np.arange(o) * s - before  # first input row/column of each window
            if self.count_include_pad:  # padding counts, the ceil_mode overhang does not
                lo, hi = start, np.minimum(start + k, size + after)
            else:
                lo, hi = np.maximum(start, 0), np.minimum(start + k, size)
            per_axis.append(hi - lo)
        return np.outer(per_axis[0], per_axis[1])

    def _uniform(self) -> bool:
        """Whether every window divides by KH·KW (the default case, computed as a plain mean)."""
        return not self.ceil_mode and (self.count_include_pad or self.padding == (0, 0))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x4, unbatched, w6, pads = self._windows(x, 0.0)
        if self._uniform():
            y = w6.mean(axis=(-2, -1))
            d = None
        else:
            d = self.divisors(x4.shape[2:]).astype(x4.dtype)
            y = w6.sum(axis=(-2, -1)) / d
        self._cache = (x4.shape, pads, d, unbatched)
        return y[0] if unbatched else y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        (N, C, H, W), pads, d, unbatched = self._cache
        dy4 = dy[None] if unbatched else dy
        kh, kw = self.kernel_size
        g = dy4 / (kh * kw) if d is None else dy4 / d  # ∂ℓ/∂y / d per window
        share = np.broadcast_to(g[..., None, None], (*dy4.shape, kh, kw))
        dx = win.windows_backward(share, (H, W), pads, self.stride)
        return dx[0] if unbatched else dx

    def config(self) -> dict:
        cfg = super().config()
        if not self.count_include_pad:  # only when set, as ceil_mode
            cfg["count_include_pad"] = False
        return cfg

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


def _flag(value: object, name: str, layer: str) -> bool:
    """A true/false option, or a one-line error naming it (a spec file may give 1 or "yes")."""
    if not isinstance(value, (bool, np.bool_)):
        raise ChainruleError(f"{layer} {name} must be true or false, got {value!r}")
    return bool(value)
