"""Sliding windows over images: padding, output-size arithmetic, and the ONE window primitive.

Convolution and pooling are the same loop: slide a KH×KW window (dilated by D, moved by S) over a
padded image and reduce what it sees. ``windows`` returns every window at once as a strided *view*
(no copy); ``windows_backward`` is its adjoint, the scatter-add that sends each window's gradient
back to the pixels it read. Pooling and Conv2d's general (im2col) path are written on these two
functions. Conv2d's stride-1 speed path (``core/conv_flat.py``) builds its patch matrix from its own
flat image layout instead; its tests compare it with the im2col path. The strided speed path
(``core/conv_strided.py``) takes ``windows`` of its polyphase images.

Output size per axis (the recitation's formula, with dilation and possibly unequal padding):

    O = ⌊(H + P_before + P_after − D(K−1) − 1) / S⌋ + 1

Layout is PyTorch's NCHW throughout.
"""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.errors import ChainruleError

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # (top, bottom, left, right)
PADDING_MODES = ("same", "valid")


def pair(value, name: str, minimum: int = 1) -> Pair:
    """An int or an (h, w) pair as a tuple of two ints ≥ ``minimum``, or a clear error."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ChainruleError(f"{name} must be one int or an (h, w) pair, got {list(value)}")
        h, w = value
    else:
        h = w = value
    out = []
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise ChainruleError(f"{name} must be a whole number, got {v!r}")
        if v < minimum:
            raise ChainruleError(f"{name} must be ≥ {minimum}, got {int(v)}")
        out.append(int(v))
    return out[0], out[1]


def padding_arg(value, name: str = "padding") -> "Pair | str":
    """Padding as given: 'same' / 'valid' (case-insensitive) or an (h, w) pair of ints ≥ 0."""
    if isinstance(value, str):
        mode = value.lower()
        if mode not in PADDING_MODES:
            raise ChainruleError(f"{name} {value!r} is not understood; expected a number ≥ 0, 'same' or 'valid'")
        return mode
    return pair(value, name, minimum=0)


def axis_pads(size: int, kernel: int, stride: int, dilation: int, padding: "int | str") -> tuple[int, int]:
    """(before, after) padding of one axis.

    'valid' is no padding. 'same' pads so that O = ⌈H/S⌉ (for S = 1 that is O = H, PyTorch's
    rule: total D(K−1), the extra one after). PyTorch refuses 'same' with S > 1; we follow the
    usual ⌈H/S⌉ convention there, with the odd pixel of padding after, as for S = 1.
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
        return total // 2, total - total // 2
    return int(padding), int(padding)


def pads_for(hw: Pair, kernel: Pair, stride: Pair, dilation: Pair, padding: "Pair | str") -> Pads:
    """(top, bottom, left, right) for an H×W input."""
    ph = padding if isinstance(padding, str) else padding[0]
    pw = padding if isinstance(padding, str) else padding[1]
    top, bottom = axis_pads(hw[0], kernel[0], stride[0], dilation[0], ph)
    left, right = axis_pads(hw[1], kernel[1], stride[1], dilation[1], pw)
    return top, bottom, left, right


def output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1, padding_after: int | None = None
) -> int:
    """⌊(H + 2P − D(K−1) − 1)/S⌋ + 1 for one axis (``padding_after`` for unequal padding).

    Raises a ChainruleError naming the sizes when the dilated kernel is larger than the padded input.
    """
    for name, v, least in (
        ("size", size, 1),
        ("kernel", kernel, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("dilation", dilation, 1),
    ):
        pair(v, name, minimum=least)  # whole numbers in range, or a clear error
    after = padding if padding_after is None else padding_after
    a = AxisSteps(size, kernel, stride, dilation, padding, after)
    if a.extent > a.padded:
        dil = f" (dilation {dilation} spreads it over {a.extent})" if dilation > 1 else ""
        pad = f"H={size}, P={padding}" if padding_after is None else f"H={size}, P={padding}+{after}"
        raise ChainruleError(f"kernel of size {kernel}{dil} is larger than the padded input of size {a.padded} ({pad})")
    return a.output


@dataclass(frozen=True)
class AxisSteps:
    """The recitation's output-size calculation for one axis, step by step.

    padded = H + P_before + P_after;  minus_kernel = padded − (D(K−1) + 1)  (the recitation's "− K", D = 1);
    divided = ⌊minus_kernel / S⌋;  output = divided + 1;  uncovered = minus_kernel mod S trailing rows
    of the padded input that no window reaches.
    """

    size: int
    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int

    @property
    def extent(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @property
    def padded(self) -> int:
        return self.size + self.pad_before + self.pad_after

    @property
    def minus_kernel(self) -> int:
        return self.padded - self.extent

    @property
    def divided(self) -> int:
        return self.minus_kernel // self.stride

    @property
    def output(self) -> int:
        return self.divided + 1

    @property
    def uncovered(self) -> int:
        """Trailing rows of the padded input that no window reaches (the floor drops them)."""
        return self.minus_kernel % self.stride

    @property
    def uncovered_real(self) -> int:
        """How many of those uncovered rows are real input rather than padding."""
        return max(0, self.uncovered - self.pad_after)


def size_steps(
    hw: Pair, kernel: Pair, stride: Pair, padding: "Pair | str", dilation: Pair
) -> tuple[AxisSteps, AxisSteps]:
    """The (height, width) calculations; errors name the 2-D sizes when the kernel does not fit.

    The one place the 2-D output size is worked out: ``output_shape`` and ``pads_and_shape`` read it.
    """
    t, b, left, r = pads_for(hw, kernel, stride, dilation, padding)
    h = AxisSteps(hw[0], kernel[0], stride[0], dilation[0], t, b)
    w = AxisSteps(hw[1], kernel[1], stride[1], dilation[1], left, r)
    if h.extent > h.padded or w.extent > w.padded:
        dil = f" (dilated to {h.extent}×{w.extent})" if (h.extent, w.extent) != tuple(kernel) else ""
        pad = f"P={t}" if (t, b, left, r) == (t,) * 4 else f"P={t},{b},{left},{r} (top,bottom,left,right)"
        raise ChainruleError(
            f"kernel is {kernel[0]}×{kernel[1]}{dil} but the padded input is only "
            f"{h.padded}×{w.padded} (H×W={hw[0]}×{hw[1]}, {pad})"
        )
    return h, w


def pads_and_shape(hw: Pair, kernel: Pair, stride: Pair, padding: "Pair | str", dilation: Pair) -> tuple[Pads, Pair]:
    """((top, bottom, left, right), (OH, OW)) of an H×W input, or the clear error of ``size_steps``."""
    h, w = size_steps(hw, kernel, stride, padding, dilation)
    return (h.pad_before, h.pad_after, w.pad_before, w.pad_after), (h.output, w.output)


def output_shape(hw: Pair, kernel: Pair, stride: Pair, padding: "Pair | str", dilation: Pair) -> Pair:
    """(OH, OW) of an H×W input; errors name the 2-D sizes."""
    return pads_and_shape(hw, kernel, stride, padding, dilation)[1]


def pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """x : (..., H, W) -> (..., H + top + bottom, W + left + right), borders set to ``value``.

    Only the borders are written, which is several times faster than ``np.pad`` on small images.
    """
    t, b, left, r = pads
    if not any(pads):
        return x
    *lead, H, W = x.shape
    out = np.empty((*lead, H + t + b, W + left + r), dtype=x.dtype)
    out[..., :t, :] = value
    out[..., H + t :, :] = value
    out[..., t : H + t, :left] = value
    out[..., t : H + t, W + left :] = value
    out[..., t : H + t, left : W + left] = x
    return out


def unpad(xp: np.ndarray, pads: Pads) -> np.ndarray:
    """The inverse slice of ``pad``: (..., Hp, Wp) -> (..., H, W)."""
    t, b, left, r = pads
    return xp[..., t : xp.shape[-2] - b, left : xp.shape[-1] - r]


def windows(xp: np.ndarray, kernel: Pair, stride: Pair = (1, 1), dilation: Pair = (1, 1)) -> np.ndarray:
    """Every window of a padded batch, as a read-only view (no copy).

    xp : (N, C, Hp, Wp)  ->  (N, C, OH, OW, KH, KW),
    view[n, c, i, j, u, v] = xp[n, c, i·S_h + u·D_h, j·S_w + v·D_w]
    """
    N, C, Hp, Wp = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    # no size check here: every caller has run size_steps (output_shape / pads_and_shape), whose error
    # names the unpadded sizes the user gave
    oh = AxisSteps(Hp, kh, sh, dh, 0, 0).output
    ow = AxisSteps(Wp, kw, sw, dw, 0, 0).output
    s = xp.strides
    return as_strided(
        xp,
        shape=(N, C, oh, ow, kh, kw),
        strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw),
        writeable=False,
    )


def windows_backward(
    dwin: np.ndarray, hw: Pair, pads: Pads, stride: Pair = (1, 1), dilation: Pair = (1, 1)
) -> np.ndarray:
    """The adjoint of ``windows(pad(x, pads))``: add each window's gradient back onto the pixels it covered.

    dwin : (N, C, OH, OW, KH, KW), hw = (H, W) of x unpadded  ->  (N, C, H, W).  One strided add per
    kernel offset (u, v), vectorised over the batch, channels and all output positions; overlapping
    windows accumulate; what lands on the padding is dropped (padding is a constant, not an input).
    """
    N, C, oh, ow, kh, kw = dwin.shape
    (sh, sw), (dh, dw) = stride, dilation
    t, b, left, r = pads
    dx = np.zeros((N, C, hw[0] + t + b, hw[1] + left + r), dtype=dwin.dtype)
    for u in range(kh):
        for v in range(kw):
            r0, c0 = u * dh, v * dw
            dx[:, :, r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw] += dwin[:, :, :, :, u, v]
    return unpad(dx, pads)


def as_nchw(x: np.ndarray, who: str, channels: int | None = None) -> tuple[np.ndarray, bool]:
    """(x as (N, C, H, W), whether it was one unbatched (C, H, W) image), or a clear error.

    ``channels`` is the channel count the layer expects (None: any).
    """
    if x.ndim not in (3, 4):
        raise ChainruleError(f"input to {who} has shape {x.shape}; expected (N, C, H, W) images or one (C, H, W) image")
    unbatched = x.ndim == 3
    x4 = x[None] if unbatched else x
    if channels is not None and x4.shape[1] != channels:
        raise ChainruleError(
            f"input to {who} has {x4.shape[1]} channel(s) (shape {x.shape}); the layer expects {channels}"
        )
    return x4, unbatched
