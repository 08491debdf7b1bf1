"""Loss functions. ``forward(yhat, y) -> float`` caches what ``backward() -> ∂ℓ/∂ŷ`` needs.

Every loss is a mean over the examples of a batch (PyTorch's ``reduction='mean'``); a single example
(``yhat`` of shape (k,)) is a batch of one.
"""

import numpy as np

from chainrule.core.functional import log_softmax
from chainrule.errors import ChainruleError
from chainrule.nn import rounding


class Loss:
    """Base class: ``loss(yhat, y)`` is ``loss.forward(yhat, y)``."""

    def __call__(self, yhat: np.ndarray, y) -> float:
        return self.forward(yhat, y)

    def forward(self, yhat: np.ndarray, y) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _regression_target(yhat: np.ndarray, y) -> np.ndarray:
    """y as an array of ŷ's shape: a scalar target for one output, (n,) targets for (n, 1) outputs."""
    t = np.asarray(y, dtype=yhat.dtype)
    if t.shape != yhat.shape:
        if t.size != yhat.size or (t.ndim and yhat.ndim and t.shape[0] != yhat.shape[0]):
            raise ChainruleError(f"target has shape {t.shape} but the network's output has shape "
                                 f"{yhat.shape}; they must match")
        t = t.reshape(yhat.shape)
    if not np.all(np.isfinite(t)):
        raise ChainruleError("target contains NaN or infinity")
    return rounding.apply(t)


class SquaredError(Loss):
    """The recitation's loss: ℓ = ½ Σ_k (ŷ_k − y_k)², summed over outputs, mean over the batch.

    ∂ℓ/∂ŷ = (ŷ − y) / n.
    """

    def forward(self, yhat, y):
        t = _regression_target(yhat, y)
        n = yhat.shape[0] if yhat.ndim > 1 else 1
        self.diff, self.n = rounding.apply(yhat - t), n
        return float(rounding.apply(0.5 * np.sum(self.diff * self.diff) / n))

    def backward(self):
        return rounding.apply(self.diff / self.n)


class MSELoss(Loss):
    """PyTorch's MSELoss: ℓ = mean over every element of (ŷ − y)², no ½.  ∂ℓ/∂ŷ = 2(ŷ − y) / N."""

    def forward(self, yhat, y):
        t = _regression_target(yhat, y)
        self.diff = rounding.apply(yhat - t)
        return float(rounding.apply(np.mean(self.diff * self.diff)))

    def backward(self):
        return rounding.apply(2.0 * self.diff / self.diff.size)


class CrossEntropyLoss(Loss):
    """PyTorch's CrossEntropyLoss on logits b : (C,) or (n, C).

    Targets are integer class labels (n,) (or one int), or one-hot / probability rows of b's shape.
    ℓ = mean_n −Σ_k y_k log softmax(b)_k;  ∂ℓ/∂b = (softmax(b) − y) / n.
    After forward, ``probs`` holds softmax(b) (the recitation's ŷ) and ``target`` the one-hot/probability y.
    In hand-calculation mode (``chainrule.nn.rounding``) ŷ is rounded first and ℓ = −Σ y log ŷ is taken
    from the rounded ŷ, as on paper.
    """

    def forward(self, logits, y):
        if logits.ndim not in (1, 2):
            raise ChainruleError(f"cross-entropy expects logits of shape (C,) or (n, C), got {logits.shape}")
        target = self.target = rounding.apply(_class_target(np.asarray(y), logits.shape, logits.dtype))
        logp = log_softmax(logits)
        self.probs = np.exp(logp)
        self.n = logits.shape[0] if logits.ndim == 2 else 1
        if rounding.active():
            self.probs = rounding.apply(self.probs)
            logp = np.log(self.probs)
        return float(rounding.apply(-np.sum(target * logp) / self.n))

    def backward(self):
        return rounding.apply((self.probs - self.target) / self.n)

    @property
    def grad_probs(self) -> np.ndarray:
        """∂ℓ/∂ŷ = −y / (n ŷ), the gradient with respect to the probabilities (0 where y = 0).

        Not used by ``backward`` (the fused ∂ℓ/∂b = ŷ − y needs no division); an explanation prints it.
        """
        out = np.zeros_like(self.probs)
        np.divide(-self.target, self.n * self.probs, out=out, where=self.target != 0)
        return rounding.apply(out)


def _class_target(y: np.ndarray, shape: tuple, dtype) -> np.ndarray:
    """One-hot / probability rows of ``shape`` from integer labels, or checked probability rows."""
    C = shape[-1]
    if y.shape == shape and y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ChainruleError("cross-entropy target contains NaN or infinity")
        return y.astype(dtype, copy=False)
    want = shape[:-1]
    if y.shape != want:
        raise ChainruleError(f"cross-entropy targets have shape {y.shape}; for logits of shape {shape} "
                             f"expected class labels of shape {want} or probability rows of shape {shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind != "f" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ChainruleError(f"cross-entropy labels must be integers 0…{C - 1}, got {y.ravel()[:5]}")
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= C):
        bad = y[(y < 0) | (y >= C)].ravel()[0]
        raise ChainruleError(f"class label {bad} is out of range for {C} classes (expected 0…{C - 1})")
    onehot = np.zeros(shape, dtype=dtype)
    if y.ndim == 0:
        onehot[y] = 1
    else:
        onehot[np.arange(y.shape[0]), y] = 1
    return onehot


LOSSES = {"squared": SquaredError, "mse": MSELoss, "cross-entropy": CrossEntropyLoss}
