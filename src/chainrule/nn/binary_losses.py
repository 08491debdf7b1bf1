"""Binary cross-entropy on probabilities (BCELoss) and, stably, on logits (BCEWithLogitsLoss).

Targets y ∈ [0, 1] have the output's shape ((n,) targets for (n, 1) outputs are reshaped); both are a
mean over every element, with optional elementwise ``weight`` w (broadcast over the last axis).

    BCELoss:            ℓ = mean w·−(y log p + (1 − y) log(1 − p)),   logs clamped at −100 as PyTorch;
                        ∂ℓ/∂p = w (p − y) / max(p(1 − p), 10⁻¹²) / N
    BCEWithLogitsLoss:  ℓ = mean w·((1 − y) x + (1 + (r − 1) y) (log(1 + e^−|x|) + max(−x, 0)))
                        ∂ℓ/∂x = w ((1 + (r − 1) y) σ(x) − r y) / N    (r = ``pos_weight``, 1 by default)

The logits form never takes the log of σ(x), so it stays finite for any x
(https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html).
"""

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from chainrule.core.functional import sigmoid
from chainrule.errors import ChainruleError
from chainrule.nn.losses import Loss, _regression_target


def _positive_vector(loss: str, name: str, value: ArrayLike | None) -> np.ndarray | None:
    if value is None:
        return None
    v = np.asarray(value)
    if v.ndim > 1 or v.dtype.kind not in "iuf" or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ChainruleError(
            f"{loss}: {name} must be a finite number ≥ 0 or a list of them (one per output); "
            f"got {np.asarray(value).tolist()!r}"
        )
    return v.astype(np.float64)


def _binary_target(loss: str, yhat: np.ndarray, y: ArrayLike) -> np.ndarray:
    t = _regression_target(yhat, y)
    if t.size and (t.min() < 0 or t.max() > 1):
        bad = t[(t < 0) | (t > 1)].ravel()[0]
        raise ChainruleError(f"{loss}: targets must be in [0, 1] (0/1 labels or probabilities), got {bad:g}")
    return t


class _Binary(Loss):
    weight: np.ndarray | None = None

    def config(self) -> dict:
        return {k: v.tolist() for k, v in vars(self).items() if k in ("weight", "pos_weight") and v is not None}

    def _w(self, dtype: DTypeLike) -> "float | np.ndarray":
        return 1.0 if self.weight is None else self.weight.astype(dtype)


class BCELoss(_Binary):
    """PyTorch's BCELoss: p : (n, k) or (k,) probabilities (a Sigmoid's output)."""

    def __init__(self, weight: ArrayLike | None = None) -> None:
        self.weight = _positive_vector("BCELoss", "weight", weight)

    def forward(self, p: np.ndarray, y: ArrayLike) -> float:
        if p.size and not (p.min() >= 0 and p.max() <= 1):  # NaN fails both tests
            bad = p[~((p >= 0) & (p <= 1))].ravel()[0]
            raise ChainruleError(
                f"BCELoss: the network's outputs must be probabilities in [0, 1] (end it with a "
                f"Sigmoid, or use BCEWithLogitsLoss on logits), got {bad:g}"
            )
        self.p, self.t = p, _binary_target("BCELoss", p, y)
        with np.errstate(divide="ignore"):
            logs = self.t * np.maximum(np.log(p), -100) + (1 - self.t) * np.maximum(np.log1p(-p), -100)
        return float(np.mean(-self._w(p.dtype) * logs))

    def backward(self) -> np.ndarray:
        p = self.p
        return self._w(p.dtype) * (p - self.t) / np.maximum((1 - p) * p, 1e-12) / p.size


class BCEWithLogitsLoss(_Binary):
    """PyTorch's BCEWithLogitsLoss: x : (n, k) or (k,) logits; ``pos_weight`` r scales the positive term."""

    def __init__(self, weight: ArrayLike | None = None, pos_weight: ArrayLike | None = None) -> None:
        self.weight = _positive_vector("BCEWithLogitsLoss", "weight", weight)
        self.pos_weight = _positive_vector("BCEWithLogitsLoss", "pos_weight", pos_weight)

    def forward(self, x: np.ndarray, y: ArrayLike) -> float:
        self.x, self.t = x, _binary_target("BCEWithLogitsLoss", x, y)
        r = 1.0 if self.pos_weight is None else self.pos_weight.astype(x.dtype)
        self.r, self.lw = r, 1 + (r - 1) * self.t  # 1 + (r − 1) y
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # log(1 + e^−x), stably
        return float(np.mean(self._w(x.dtype) * ((1 - self.t) * x + self.lw * softplus_neg)))

    def backward(self) -> np.ndarray:
        x = self.x
        return self._w(x.dtype) * (self.lw * sigmoid(x) - self.r * self.t) / x.size
