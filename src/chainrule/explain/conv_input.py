"""The worksheets' input checks: nested lists / arrays -> float64 images and kernels, with one-line errors.

Shared by the convolution worksheet (``convolution.py``) and the transposed one (``conv_transpose.py``).
"""

from typing import Any

import numpy as np

from chainrule.errors import ChainruleError


def as_image(x: Any, what: str = "input") -> np.ndarray:
    """(C, H, W) float64 from nested lists / an array of 2 or 3 axes; ragged lists are an error."""
    a = as_array(x, what)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ChainruleError(
            f"{what} must be a matrix (H×W) or channels of matrices (C×H×W), got {a.ndim} axis/axes, shape {a.shape}"
        )
    return a


def as_kernels(f: Any, channels: int) -> np.ndarray:
    """(O, C, KH, KW) from a kernel (KH, KW), one filter (C, KH, KW), filters of a 1-channel input
    (O, KH, KW), or (O, C, KH, KW); the channel count must match the input's."""
    k = as_array(f, "kernel")
    if k.ndim == 2 and channels != 1:
        raise ChainruleError(
            f"kernel is {k.shape[0]}×{k.shape[1]} (one channel) but the input has {channels} "
            f"channels; give one {k.shape[0]}×{k.shape[1]} kernel per channel, as [C][KH][KW]"
        )
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        if k.shape[0] == channels:
            k = k[None]
        elif channels == 1:
            k = k[:, None]
        else:
            raise ChainruleError(
                f"kernel has shape {k.shape}: read as one filter it has {k.shape[0]} "
                f"channel(s), but the input has {channels}; give {channels} kernels per "
                f"filter, as [C][KH][KW] or [F][C][KH][KW]"
            )
    elif k.ndim != 4:
        raise ChainruleError(f"kernel must have 2, 3 or 4 axes (KH×KW, C×KH×KW or F×C×KH×KW), got shape {k.shape}")
    if k.shape[1] != channels:
        raise ChainruleError(
            f"each filter has {k.shape[1]} channel(s) (kernel shape {k.shape}) but the input has {channels}"
        )
    return k


def as_array(value: Any, what: str) -> np.ndarray:
    """float64 array of finite real numbers from a nested list or array; `what` names it in errors."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":  # a .npy file of complex numbers
        raise ChainruleError(f"{what} has complex numbers; the worksheet takes real numbers")
    try:
        a = np.array(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ChainruleError(
            f"{what} must be a rectangular nested list of numbers (rows of equal "
            "length); got a ragged or non-numeric list"
        ) from None
    if a.size == 0:
        raise ChainruleError(f"{what} is empty")
    if not np.all(np.isfinite(a)):
        raise ChainruleError(f"{what} contains NaN or infinity")
    return a


def check_finite(v: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(v)):
        raise ChainruleError(f"{what} overflows float64 (it has an infinite value); use smaller numbers")
