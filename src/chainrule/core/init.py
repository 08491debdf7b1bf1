"""Weight initialisation schemes, each a pure function of a shape and an explicit Generator.

Fan-in and fan-out follow PyTorch: for a weight of shape (out, in, *kernel) the receptive field
size multiplies both, fan_in = in · ∏kernel and fan_out = out · ∏kernel.
"""

import math

import numpy as np

SQRT2 = math.sqrt(2.0)  # the ReLU gain


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan-in/fan-out need a weight with at least 2 axes, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape, rng=None, dtype=np.float64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def uniform(shape, rng: np.random.Generator, low=-0.1, high=0.1, dtype=np.float64) -> np.ndarray:
    """U(low, high); the course's homework draws weights from U(−0.1, 0.1)."""
    return rng.uniform(low, high, size=shape).astype(dtype)


def xavier_uniform(shape, rng: np.random.Generator, gain=1.0, dtype=np.float64) -> np.ndarray:
    """Glorot: U(−b, b), b = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    b = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-b, b, size=shape).astype(dtype)


def xavier_normal(shape, rng: np.random.Generator, gain=1.0, dtype=np.float64) -> np.ndarray:
    """Glorot: N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return (gain * math.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)).astype(dtype)


def kaiming_uniform(shape, rng: np.random.Generator, gain=SQRT2, dtype=np.float64) -> np.ndarray:
    """He: U(−b, b), b = gain·√(3 / fan_in); gain √2 suits ReLU."""
    fan_in, _ = fans(shape)
    b = gain * math.sqrt(3.0 / fan_in)
    return rng.uniform(-b, b, size=shape).astype(dtype)


def kaiming_normal(shape, rng: np.random.Generator, gain=SQRT2, dtype=np.float64) -> np.ndarray:
    """He: N(0, σ²), σ = gain / √fan_in."""
    fan_in, _ = fans(shape)
    return (gain / math.sqrt(fan_in) * rng.standard_normal(shape)).astype(dtype)


def default_weight(shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """PyTorch's default for Linear and Conv2d weights: U(−1/√fan_in, 1/√fan_in)."""
    fan_in, _ = fans(shape)
    b = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-b, b, size=shape).astype(dtype)


def default_bias(shape, fan_in: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """PyTorch's default bias: U(−1/√fan_in, 1/√fan_in)."""
    b = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-b, b, size=shape).astype(dtype)


def reset_weight_and_bias(weight, bias, rng: np.random.Generator, weight_init=None) -> None:
    """A Linear/Conv2d reset: ``weight_init(shape, rng=, dtype=)`` and a zero bias, or PyTorch's default
    (weight, then bias, drawn from ``rng`` in that order) when ``weight_init`` is None."""
    w = weight.data
    if weight_init is None:
        w[...] = default_weight(w.shape, rng, w.dtype)
        if bias is not None:
            bias.data[...] = default_bias(bias.data.shape, fans(w.shape)[0], rng, bias.data.dtype)
        return
    w[...] = weight_init(w.shape, rng=rng, dtype=w.dtype)
    if bias is not None:
        bias.data.fill(0)


def as_generator(rng: "np.random.Generator | int | None") -> np.random.Generator:
    """A Generator from a Generator, a seed, or None (fresh OS entropy, like an unseeded PyTorch)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
