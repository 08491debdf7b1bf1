"""2-D transposed convolution: the adjoint of Conv2d, NCHW (PyTorch's ConvTranspose2d).

Each input cell scatters its value times the kernel into the output window it maps to:

    y[n, o, i·S + u·D − P, j·S + v·D − P] += x[n, c, i, j] · W[c, o − g·Og, u, v]   (c in group g)

    OH = (H − 1)·S − 2P + D(K − 1) + output_padding + 1

That is exactly Conv2d's ∂ℓ/∂x map (``conv2d_input_grad``, written on ``windows_backward``), with the
weight (in, out/groups, KH, KW) read as a Conv2d weight of out_channels = in, in_channels = out. So its
backward is Conv2d's forward: ∂ℓ/∂x = conv2d(pad(dy)), and ∂ℓ/∂W correlates x with the windows of dy.
"""

import numpy as np
from numpy.typing import DTypeLike

from chainrule.core import init
from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.conv import _count, conv2d_forward, conv2d_input_grad
from chainrule.nn.module import Module, Parameter, WeightInit, check_dtype


def transposed_size(size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int) -> int:
    """(H − 1)·S − 2P + D(K − 1) + output_padding + 1 for one axis."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


class ConvTranspose2d(Module):
    """Transposed convolution (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html).

    weight : (in_channels, out_channels/groups, KH, KW)     bias : (out_channels,)
    x : (N, C_in, H, W) or (C_in, H, W)  ->  y : (N, C_out, OH, OW) or (C_out, OH, OW)
    ``padding`` removes P rows/columns from each border of the full scatter; ``output_padding``
    (< stride or < dilation, as PyTorch) adds rows/columns at the bottom/right.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: "int | tuple[int, int]",
        stride: "int | tuple[int, int]" = 1,
        padding: "int | tuple[int, int]" = 0,
        output_padding: "int | tuple[int, int]" = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: "int | tuple[int, int]" = 1,
        dtype: DTypeLike = np.float64,
        rng: "np.random.Generator | int | None" = None,
    ) -> None:
        self.in_channels = _count(in_channels, "in_channels")
        self.out_channels = _count(out_channels, "out_channels")
        self.groups = _count(groups, "groups")
        for name, n in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if n % self.groups:
                raise ChainruleError(
                    f"ConvTranspose2d: {name}={n} is not divisible by groups={self.groups}; "
                    "each group needs a whole number of channels"
                )
        try:
            self.kernel_size = win.pair(kernel_size, "kernel_size")
            self.stride = win.pair(stride, "stride")
            self.dilation = win.pair(dilation, "dilation")
            if isinstance(padding, str):
                raise ChainruleError(f"padding must be a number or an (h, w) pair, got {padding!r}")
            self.padding = win.pair(padding, "padding", minimum=0)
            self.output_padding = win.pair(output_padding, "output_padding", minimum=0)
        except ChainruleError as e:
            raise ChainruleError(f"ConvTranspose2d: {e}") from None
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= s and op >= d:
                raise ChainruleError(
                    f"ConvTranspose2d: output_padding {self.output_padding} must be smaller than the stride "
                    f"{self.stride} or the dilation {self.dilation} (PyTorch's rule)"
                )
        dt = check_dtype(dtype)
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dt))
        self.bias = Parameter(np.empty((self.out_channels,), dt)) if bias else None
        self.reset_parameters(init.as_generator(rng))
        self._cache: tuple[np.ndarray, bool] | None = None

    def reset_parameters(
        self, rng: "np.random.Generator | int | None" = None, weight_init: WeightInit | None = None
    ) -> None:
        # fan_in from weight.shape[1:] = out/groups · KH · KW, as PyTorch computes it for this layout
        init.reset_weight_and_bias(self.weight, self.bias, init.as_generator(rng), weight_init)

    @property
    def pads(self) -> win.Pads:
        ph, pw = self.padding
        return ph, ph, pw, pw

    def output_hw(self, hw: "tuple[int, ...]") -> tuple[int, int]:
        """(OH, OW) for an H×W input, or a clear error when the padding eats the whole output."""
        out = [
            transposed_size(int(n), k, s, p, op, d)
            for n, k, s, p, op, d in zip(
                hw, self.kernel_size, self.stride, self.padding, self.output_padding, self.dilation, strict=True
            )
        ]
        if min(out) < 1:
            raise ChainruleError(
                f"{self!r} on a {hw[0]}×{hw[1]} input gives a {out[0]}×{out[1]} output: "
                f"padding {self.padding} removes more than the scatter covers"
            )
        return out[0], out[1]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """(out_channels, OH, OW) for a (C, H, W) input."""
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ChainruleError(
                f"input to {self!r} has shape {tuple(input_shape)} per example; expected "
                f"one ({self.in_channels}, H, W) image"
            )
        return (self.out_channels, *self.output_hw(input_shape[1:]))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x4, unbatched = win.as_nchw(x, repr(self), self.in_channels)
        W = self.weight.data
        if x4.dtype != W.dtype:
            x4 = x4.astype(W.dtype)
        hw = self.output_hw(x4.shape[2:])
        # Conv2d's input gradient with x in the role of ∂ℓ/∂y: every input cell scattered through the kernel
        y = conv2d_input_grad(x4, W, hw, self.stride, self.pads, self.dilation, self.groups)
        if self.bias is not None:
            y += self.bias.data[:, None, None]
        self._cache = (x4, unbatched)
        return y[0] if unbatched else y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        x4, unbatched = self._cache
        dy4 = dy[None] if unbatched else dy
        N, C, H, W = x4.shape
        # the padded dy, cut to the full scatter's extent: its H×W windows are the ones x's cells wrote into
        full = [
            transposed_size(n, k, s, 0, 0, d)
            for n, k, s, d in zip((H, W), self.kernel_size, self.stride, self.dilation, strict=True)
        ]
        dyp = win.pad(dy4, self.pads)[:, :, : full[0], : full[1]]
        dx, cols = conv2d_forward(dyp, self.weight.data, None, self.stride, (0, 0, 0, 0), self.dilation, self.groups)
        G = self.groups
        xg = x4.reshape(N, G, C // G, H * W)
        # ∂ℓ/∂W[g] = Σₙ x[n, g] · cols[n, g]ᵀ : (Cg, H·W) · (H·W, Og·KH·KW), summed over the batch
        dW = (xg @ cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(self.weight.shape)
        self.weight.grad += dW
        if self.bias is not None:
            self.bias.grad += dy4.sum(axis=(0, 2, 3))
        return dx[0] if unbatched else dx

    def config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "output_padding": list(self.output_padding),
            "groups": self.groups,
            "bias": self.bias is not None,
            "dilation": list(self.dilation),
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
