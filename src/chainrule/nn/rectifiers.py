"""ReLU's relatives, each caching its input a (their derivatives are not functions of the output alone).

    LeakyReLU:  z = a if a > 0 else s·a              z' = 1 if a > 0 else s
    ELU:        z = a if a > 0 else α(eᵃ − 1)         z' = 1 if a > 0 else α eᵃ
    GELU:       z = a Φ(a)                           z' = Φ(a) + a φ(a)        (Φ, φ: the normal cdf, pdf)
    GELU tanh:  z = ½a(1 + tanh u), u = √(2/π)(a + 0.044715 a³)
                                                     z' = ½(1 + tanh u) + ½a(1 − tanh² u) √(2/π)(1 + 3·0.044715 a²)
    SiLU:       z = a σ(a)                           z' = σ(a)(1 + a(1 − σ(a)))

At a = 0 the one-sided rules take the left side, as PyTorch does (LeakyReLU' = s, ELU' = α).
Shapes: any; a : (N, …) -> z : (N, …).
"""

import math

import numpy as np

from chainrule.core.functional import erf, sigmoid
from chainrule.errors import ChainruleError
from chainrule.nn.activations import Activation


def _non_negative(layer: str, name: str, value: float) -> float:
    """``value`` as a float ≥ 0 and finite, or a one-line error naming the layer and the value."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 <= value < math.inf
    ):
        raise ChainruleError(f"{layer}: {name} must be a finite number ≥ 0, got {value!r}")
    return float(value)


class _CachesInput(Activation):
    a: np.ndarray | None = None


class LeakyReLU(_CachesInput):
    """https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html (slope s = ``negative_slope`` ≥ 0)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        self.z = np.where(a > 0, a, a * self.negative_slope)
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.a is not None, "backward() before forward()"
        return np.where(self.a > 0, 1.0, self.negative_slope).astype(self.a.dtype, copy=False)

    def config(self) -> dict:
        return {"negative_slope": self.negative_slope}


class ELU(_CachesInput):
    """https://pytorch.org/docs/stable/generated/torch.nn.ELU.html (``alpha`` ≥ 0)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _non_negative("ELU", "alpha", alpha)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        self.z = np.where(a > 0, a, self.alpha * np.expm1(np.minimum(a, 0)))  # min: no overflow warning for a ≫ 0
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.a is not None, "backward() before forward()"
        return np.where(self.a > 0, 1.0, self.alpha * np.exp(np.minimum(self.a, 0))).astype(self.a.dtype, copy=False)

    def config(self) -> dict:
        return {"alpha": self.alpha}


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715


class GELU(_CachesInput):
    """https://pytorch.org/docs/stable/generated/torch.nn.GELU.html: ``approximate`` is 'none' or 'tanh'."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ChainruleError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        if self.approximate == "tanh":
            self._t = np.tanh(_SQRT_2_OVER_PI * (a + _TANH_CUBIC * a * a * a))
            self.z = 0.5 * a * (1.0 + self._t)
        else:
            self._cdf = 0.5 * (1.0 + erf(a * math.sqrt(0.5)))  # Φ(a)
            self.z = a * self._cdf
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.a is not None, "backward() before forward()"
        a = self.a
        if self.approximate == "tanh":
            t = self._t
            return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * _TANH_CUBIC * a * a)
        return self._cdf + a * np.exp(-0.5 * a * a) * (1.0 / math.sqrt(2.0 * math.pi))  # Φ(a) + a φ(a)

    def config(self) -> dict:
        return {"approximate": self.approximate}


class SiLU(_CachesInput):
    """https://pytorch.org/docs/stable/generated/torch.nn.SiLU.html (also called swish)."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        self._s = sigmoid(a)
        self.z = a * self._s
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.a is not None, "backward() before forward()"
        s = self._s
        return s * (1.0 + self.a * (1.0 - s))
