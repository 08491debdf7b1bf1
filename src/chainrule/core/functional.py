"""Numerically stable elementwise and reduction functions, shared by layers and losses."""

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), computed without overflow and without losing tiny values.

    For x < 0 it uses e^x / (1 + e^x): the naive form would underflow to 0 long before σ does.
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log Σ e^x along ``axis`` (kept as a size-1 axis), shifted by the max so it never overflows."""
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(x) = x − logsumexp(x): finite even for logits of ±1e4 (no log(0))."""
    return x - logsumexp(x, axis)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)_k = e^(x_k − max x) / Σ_j e^(x_j − max x)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function elementwise, to full double precision (what GELU's Φ(x) needs).

    NumPy has none: SciPy's ufunc when SciPy is installed (scikit-learn brings it), else ``math.erf``
    element by element (correctly rounded too, only slower).
    """
    x = np.asarray(x)
    try:
        from scipy.special import erf as _erf
    except ImportError:
        import math

        return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
    return _erf(x).astype(x.dtype, copy=False)
