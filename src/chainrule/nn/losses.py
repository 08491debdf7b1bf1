"""Loss functions. ``forward(yhat, y) -> float`` caches what ``backward() -> ∂ℓ/∂ŷ`` needs.

Every loss is a mean over the examples of a batch (PyTorch's ``reduction='mean'``; with class weights,
PyTorch's weighted mean); a single example (``yhat`` of shape (k,)) is a batch of one. The binary
cross-entropies are in ``chainrule.nn.binary_losses``.
"""

import math

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from chainrule.core.functional import log_softmax
from chainrule.errors import ChainruleError
from chainrule.nn import rounding


class Loss:
    """Base class: ``loss(yhat, y)`` is ``loss.forward(yhat, y)``."""

    def __call__(self, yhat: np.ndarray, y: ArrayLike) -> float:
        return self.forward(yhat, y)

    def forward(self, yhat: np.ndarray, y: ArrayLike) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def config(self) -> dict:
        """Constructor arguments that rebuild this loss (JSON-compatible; {} for none)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"


def class_weights(loss: str, weight: ArrayLike | None) -> np.ndarray | None:
    """``weight`` as a float64 vector of finite numbers ≥ 0 (one per class), or None; errors name the loss."""
    if weight is None:
        return None
    w = np.asarray(weight)
    if w.ndim != 1 or not w.size or w.dtype.kind not in "iuf" or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ChainruleError(
            f"{loss}: weight must be a list of finite numbers ≥ 0, one per class; got {np.asarray(weight).tolist()!r}"
        )
    return w.astype(np.float64)


def _weights_for(loss: str, w: np.ndarray, classes: int, dtype: DTypeLike) -> np.ndarray:
    if w.shape[0] != classes:
        raise ChainruleError(f"{loss}: weight has {w.shape[0]} entries but the output has {classes} classes")
    return w.astype(dtype, copy=False)


def _regression_target(yhat: np.ndarray, y: ArrayLike) -> np.ndarray:
    """y as an array of ŷ's shape: a scalar target for one output, (n,) targets for (n, 1) outputs."""
    t = np.asarray(y, dtype=yhat.dtype)
    if t.shape != yhat.shape:
        if t.size != yhat.size or (t.ndim and yhat.ndim and t.shape[0] != yhat.shape[0]):
            raise ChainruleError(
                f"target has shape {t.shape} but the network's output has shape {yhat.shape}; they must match"
            )
        t = t.reshape(yhat.shape)
    if not np.all(np.isfinite(t)):
        raise ChainruleError("target contains NaN or infinity")
    return rounding.apply(t)


class SquaredError(Loss):
    """The recitation's loss: ℓ = ½ Σ_k (ŷ_k − y_k)², summed over outputs, mean over the batch.

    ∂ℓ/∂ŷ = (ŷ − y) / n.
    """

    def forward(self, yhat: np.ndarray, y: ArrayLike) -> float:
        t = _regression_target(yhat, y)
        n = yhat.shape[0] if yhat.ndim > 1 else 1
        self.diff, self.n = yhat - t, n  # not rounded: the loss line squares the printed ŷ − y exactly
        return float(rounding.apply(0.5 * np.sum(self.diff * self.diff) / n))

    def backward(self) -> np.ndarray:
        return rounding.apply(self.diff / self.n)


class MSELoss(Loss):
    """PyTorch's MSELoss: ℓ = mean over every element of (ŷ − y)², no ½.  ∂ℓ/∂ŷ = 2(ŷ − y) / N."""

    def forward(self, yhat: np.ndarray, y: ArrayLike) -> float:
        t = _regression_target(yhat, y)
        self.diff = yhat - t  # not rounded: the loss line squares the printed ŷ − y exactly
        return float(rounding.apply(np.mean(self.diff * self.diff)))

    def backward(self) -> np.ndarray:
        return rounding.apply(2.0 * self.diff / self.diff.size)


class HuberLoss(Loss):
    """PyTorch's HuberLoss: ℓ = mean of ½d² where |d| < δ, else δ(|d| − ½δ), with d = ŷ − y.

    ∂ℓ/∂ŷ = clip(d, −δ, δ) / N over the N elements.
    """

    def __init__(self, delta: float = 1.0) -> None:
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < math.inf:
            raise ChainruleError(f"HuberLoss: delta must be a finite number > 0, got {delta!r}")
        self.delta = float(delta)

    def forward(self, yhat: np.ndarray, y: ArrayLike) -> float:
        self.diff = yhat - _regression_target(yhat, y)
        ad, d = np.abs(self.diff), self.delta
        return float(np.mean(np.where(ad < d, 0.5 * self.diff * self.diff, d * (ad - 0.5 * d))))

    def backward(self) -> np.ndarray:
        return np.clip(self.diff, -self.delta, self.delta) / self.diff.size

    def config(self) -> dict:
        return {"delta": self.delta}


class CrossEntropyLoss(Loss):
    """PyTorch's CrossEntropyLoss on logits b : (C,) or (n, C), with optional class ``weight`` (C,) and
    ``label_smoothing`` ε ∈ [0, 1].

    Targets are integer class labels (n,) (or one int), or one-hot / probability rows of b's shape.
    ℓ = mean_n −Σ_k y_k log softmax(b)_k;  ∂ℓ/∂b = (softmax(b) Σ_k y_k − y) / n, i.e. (softmax(b) − y) / n
    for one-hot or probability rows (Σ_k y_k = 1).
    After forward, ``probs`` holds softmax(b) (the recitation's ŷ) and ``target`` the one-hot/probability y.
    In hand-calculation mode (``chainrule.nn.rounding``) ŷ is rounded first and ℓ = −Σ y log ŷ is taken
    from the rounded ŷ, as on paper.

    Integer labels take a fast path that never builds the one-hot matrix (``target`` is then made on
    first use): with labels t, ℓ = mean_n (logsumexp(b_n) − b_{n,t_n}) and ∂ℓ/∂b = (softmax(b) − onehot(t)) / n.
    At batch size 1 this is most of the time of a training step, so it matters. Hand-calculation mode
    always takes the general path.

    Weights and smoothing (PyTorch's definitions) are one coefficient matrix Q and a divisor D:
    ℓ = −Σ_{n,k} Q_{nk} log softmax(b)_{nk} / D, ∂ℓ/∂b = (softmax(b) Σ_k Q_{nk} − Q) / D. For labels t,
    Q_{nk} = (1 − ε) w_{t_n} [k = t_n] + (ε/C) w_k and D = Σ_n w_{t_n}; for probability rows p,
    Q = ((1 − ε) p + ε/C) ⊙ w and D = n. ``target`` and ``n`` then hold Q and D.
    """

    # forward's target as probability rows Q, or its integer labels (the other None), for backward
    _target: np.ndarray | None
    _labels: "int | np.ndarray | None"

    def __init__(self, weight: ArrayLike | None = None, label_smoothing: float = 0.0) -> None:
        self.weight = class_weights("CrossEntropyLoss", weight)
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float))
            or not 0 <= label_smoothing <= 1
        ):
            raise ChainruleError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def config(self) -> dict:
        cfg = {} if self.weight is None else {"weight": self.weight.tolist()}
        return {**cfg, **({"label_smoothing": self.label_smoothing} if self.label_smoothing else {})}

    def forward(self, logits: np.ndarray, y: ArrayLike) -> float:
        if logits.ndim not in (1, 2):
            raise ChainruleError(f"cross-entropy expects logits of shape (C,) or (n, C), got {logits.shape}")
        if self.weight is not None or self.label_smoothing:
            return self._weighted(logits, y)
        hand = rounding.active()
        labels = None if hand else _labels(y, logits.shape)
        self.n = logits.shape[0] if logits.ndim == 2 else 1
        if labels is None:  # one-hot / probability rows, or hand-calculation mode
            self._target = target = rounding.apply(_class_target(np.asarray(y), logits.shape, logits.dtype))
            self._labels = None
            logp = log_softmax(logits)
            self.probs = np.exp(logp)
            if hand:
                self.probs = rounding.apply(self.probs)
                logp = np.log(self.probs)
            return float(rounding.apply(-np.sum(target * logp) / self.n))
        self._labels, self._target = labels, None
        if logits.ndim == 1:  # one example, one int label: scalar arithmetic in Python floats
            m = logits.max()
            e = np.exp(logits - m)
            total = float(e.sum())
            self.probs = e / total
            return math.log(total) + float(m) - float(logits[labels])
        if self.n == 1:  # one (1, C) row: the same operations on the row, without the batch machinery
            row = logits[0]
            m1 = row.max()
            e1 = np.exp(row - m1)
            t1 = e1.sum()
            self.probs = (e1 / t1)[None]
            return float(np.log(t1) + m1 - row[int(np.asarray(labels).flat[0])])
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        total = e.sum(axis=1, keepdims=True)
        self.probs = e / total
        rows = np.arange(self.n)
        return float(np.sum(np.log(total[:, 0]) + m[:, 0] - logits[rows, labels]) / self.n)

    def _weighted(self, logits: np.ndarray, y: ArrayLike) -> float:
        """The loss with class weights and/or label smoothing, through Q and D (see the class docstring)."""
        C, eps = logits.shape[-1], self.label_smoothing
        w = (
            np.ones(C, logits.dtype)
            if self.weight is None
            else _weights_for("CrossEntropyLoss", self.weight, C, logits.dtype)
        )
        labels = _labels(y, logits.shape)
        if labels is None:  # probability rows
            q = ((1 - eps) * _class_target(np.asarray(y), logits.shape, logits.dtype) + eps / C) * w
            self.n = logits.shape[0] if logits.ndim == 2 else 1
        else:
            q = (1 - eps) * _class_target(np.asarray(labels), logits.shape, logits.dtype) * w[labels][..., None] + (
                eps / C
            ) * w
            self.n = float(np.sum(w[labels]))
        self._target, self._labels = rounding.apply(q), None
        logp = log_softmax(logits)
        self.probs = np.exp(logp)
        return float(rounding.apply(-np.sum(self._target * logp) / self.n))

    @property
    def target(self) -> np.ndarray:
        """The one-hot (or probability) target rows of the last forward, shaped like the logits."""
        if self._target is None:
            self._target = _class_target(np.asarray(self._labels), self.probs.shape, self.probs.dtype)
        return self._target

    def backward(self) -> np.ndarray:
        if self._labels is None:
            t = self._target
            assert t is not None  # forward keeps the rows when it has no labels
            # ∂ℓ/∂b = softmax(b)·Σ_k y_k − y: the Σ is 1 for one-hot and probability rows (and then changes
            # no bit), but PyTorch accepts any non-negative weights as targets, and so does this
            return rounding.apply((self.probs * t.sum(axis=-1, keepdims=True) - t) / self.n)
        d = self.probs.copy()
        if d.ndim == 1:
            d[self._labels] -= 1.0
            return d
        if self.n == 1:  # one example as a (1, C) row (a PyTorch-style loop): no index arrays; ÷ 1 is exact
            d[0, int(np.asarray(self._labels).flat[0])] -= 1.0
            return d
        d[np.arange(self.n), self._labels] -= 1.0
        d /= self.n
        return d

    @property
    def grad_probs(self) -> np.ndarray:
        """∂ℓ/∂ŷ = −y / (n ŷ), the gradient with respect to the probabilities (0 where y = 0).

        Not used by ``backward`` (the fused ∂ℓ/∂b = ŷ − y needs no division); an explanation prints it.
        """
        out = np.zeros_like(self.probs)
        np.divide(-self.target, self.n * self.probs, out=out, where=self.target != 0)
        return rounding.apply(out)


def _labels(y: ArrayLike, shape: tuple[int, ...]) -> "int | np.ndarray | None":
    """Integer labels checked against C = shape[-1] (an int, or an int array of shape[:-1]); None for float rows.

    The common cases (a Python or NumPy int for one example, an int array for a batch) are checked
    with a few comparisons; anything else goes through ``_class_target``'s full checks and messages.
    """
    C = shape[-1]
    if len(shape) == 1 and isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        if 0 <= y < C:
            return int(y)
    elif isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.shape == shape[:-1] and y.size:
        if y.size == 1:  # one example as a (1,) array: a Python comparison, not two reductions
            if 0 <= int(y.flat[0]) < C:
                return y
        elif y.min() >= 0 and y.max() < C:
            return y
    if np.asarray(y).shape == tuple(shape) and np.asarray(y).dtype.kind == "f":
        return None
    onehot = _class_target(np.asarray(y), shape, np.float64)  # raises the precise error, or accepts
    return np.argmax(onehot, axis=-1) if onehot.ndim == 2 else int(np.argmax(onehot))


def _class_target(y: np.ndarray, shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
    """One-hot / probability rows of ``shape`` from integer labels, or checked probability rows."""
    C = shape[-1]
    if y.shape == shape and y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ChainruleError("cross-entropy target contains NaN or infinity")
        return y.astype(dtype, copy=False)
    want = shape[:-1]
    if y.shape != want:
        raise ChainruleError(
            f"cross-entropy targets have shape {y.shape}; for logits of shape {shape} "
            f"expected class labels of shape {want} or probability rows of shape {shape}"
        )
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


class NLLLoss(Loss):
    """PyTorch's NLLLoss on log-probabilities x : (C,) or (n, C) (a LogSoftmax's output) and class labels t.

    ℓ = −Σ_n w_{t_n} x_{n,t_n} / Σ_n w_{t_n} (w = 1 without ``weight``); ∂ℓ/∂x_{n,t_n} = −w_{t_n} / Σ w, 0 elsewhere.
    """

    def __init__(self, weight: ArrayLike | None = None) -> None:
        self.weight = class_weights("NLLLoss", weight)

    def config(self) -> dict:
        return {} if self.weight is None else {"weight": self.weight.tolist()}

    def forward(self, logp: np.ndarray, y: ArrayLike) -> float:
        if logp.ndim not in (1, 2):
            raise ChainruleError(f"NLLLoss expects log-probabilities of shape (C,) or (n, C), got {logp.shape}")
        labels = _labels(y, logp.shape)
        if labels is None:
            raise ChainruleError("NLLLoss takes class labels (whole numbers 0…C−1), not probability rows")
        C = logp.shape[-1]
        w = np.ones(C, logp.dtype) if self.weight is None else _weights_for("NLLLoss", self.weight, C, logp.dtype)
        self.shape, self.labels, self.w = logp.shape, labels, w[labels]
        self.total = np.sum(self.w)
        picked = logp[labels] if logp.ndim == 1 else logp[np.arange(logp.shape[0]), labels]
        return float(-np.sum(self.w * picked) / self.total)

    def backward(self) -> np.ndarray:
        d = np.zeros(self.shape, dtype=self.w.dtype)
        if d.ndim == 1:
            d[self.labels] = -self.w / self.total
        else:
            d[np.arange(d.shape[0]), self.labels] = -self.w / self.total
        return d


# name in specs, --loss and model files -> class; the binary cross-entropies join in chainrule/nn/__init__.py
LOSSES = {
    "squared": SquaredError,
    "mse": MSELoss,
    "cross-entropy": CrossEntropyLoss,
    "nll": NLLLoss,
    "huber": HuberLoss,
}
