"""Dataset: examples, targets, and what kind of problem they make.

X : (n, *example_shape) float64 — one row per example; images keep their (C, H, W) shape.
y : (n,) int64 class labels (classification) or (n,) / (n, k) float64 targets (regression).
"""

from dataclasses import dataclass

import numpy as np

from chainrule.data.limits import check_magnitude
from chainrule.errors import ChainruleError

TASKS = ("classification", "regression")
# class labels are indices 0…K−1 and K is the number of output units; a label far beyond any real class
# count is nearly always a real-valued target (a price, a year) given without --task regression
MAX_CLASSES = 1000  # ImageNet's count
# the advice that ends label errors; a command without --task (the course mode) leaves it out
REGRESSION_HINT = " (for real-valued targets use --task regression)"


@dataclass
class Dataset:
    X: np.ndarray
    y: np.ndarray | None
    task: str = "classification"
    source: str = "<data>"

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def example_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    @property
    def num_features(self) -> int:
        return int(np.prod(self.X.shape[1:]))

    @property
    def num_classes(self) -> int:
        """Largest label + 1 (0 for an unlabelled or regression set)."""
        if self.task != "classification" or self.y is None or not len(self.y):
            return 0
        return int(self.y.max()) + 1

    def subset(self, idx: np.ndarray, source: str | None = None) -> "Dataset":
        return Dataset(self.X[idx], None if self.y is None else self.y[idx], self.task, source or self.source)

    def reshaped(self, example_shape: tuple[int, ...]) -> "Dataset":
        """The same examples viewed with another per-example shape of the same size (e.g. 64 ↔ 1×8×8)."""
        example_shape = tuple(int(s) for s in example_shape)
        if int(np.prod(example_shape)) != self.num_features:
            raise ChainruleError(
                f"{self.source}: examples have {self.num_features} values each, which cannot be "
                f"viewed as shape {'×'.join(map(str, example_shape))} "
                f"({int(np.prod(example_shape))} values)"
            )
        return Dataset(self.X.reshape((len(self), *example_shape)), self.y, self.task, self.source)


def check_targets(y: np.ndarray, task: str, source: str, first_line: int | None = None) -> np.ndarray:
    """y as int64 labels (classification) or float64 targets (regression), or an error naming the row.

    ``first_line`` is the 1-based line of y[0] in a text file, so errors point at it; without it,
    errors count examples from 1 (NPZ, IDX).
    """
    if task not in TASKS:
        raise ChainruleError(f"task {task!r} is not known; expected one of {', '.join(TASKS)}")
    y = np.asarray(y)
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            i = int(np.argwhere(bad)[0][0])
            raise ChainruleError(
                f"{source}: {_where(first_line, i)}: target is {y.reshape(len(y), -1)[i][0]}; "
                "targets must be finite numbers"
            )
    if task == "regression":
        y = y.astype(np.float64)
        check_magnitude(y.reshape(len(y), -1), source, lambda i: _where(first_line, i), lambda j: f"target {j + 1}")
        return y
    if y.ndim != 1:
        raise ChainruleError(f"{source}: class labels must be one number per example, got shape {y.shape}")
    if y.dtype.kind == "f":
        frac = y != np.round(y)
        if frac.any():
            i = int(np.argmax(frac))
            raise ChainruleError(
                f"{source}: {_where(first_line, i)}: label {float(y[i])!r} is not an integer; "
                "classification needs integer class labels 0, 1, 2 …" + REGRESSION_HINT
            )
    elif y.dtype.kind not in "iu":
        raise ChainruleError(f"{source}: labels have type {y.dtype}; expected integers")
    if len(y) and y.max() >= MAX_CLASSES:  # checked before the cast, which would wrap a huge float
        i = int(np.argmax(y))
        raise ChainruleError(
            f"{source}: {_where(first_line, i)}: label {y[i]:.15g} would need "
            f"{float(y[i]) + 1:.15g} classes; class labels are 0, 1, 2 … (at most {MAX_CLASSES - 1})" + REGRESSION_HINT
        )
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        i = int(np.argmin(y))
        raise ChainruleError(
            f"{source}: {_where(first_line, i)}: label {y[i]} is negative; class labels must be 0, 1, 2 …"
        )
    return y


def check_features(X: np.ndarray, source: str, first_line: int | None = None, first_column: int = 0) -> np.ndarray:
    """X as float64, or an error naming the first example that holds NaN, infinity or a value too large
    to compute with (limits.MAX_MAGNITUDE); ``first_column``: the file's column (from 1) of feature 1
    (a CSV's 2 after its label), 0 to name features instead."""
    X = np.asarray(X, dtype=np.float64)
    if not len(X):
        raise ChainruleError(f"{source}: holds no examples (shape {'×'.join(map(str, X.shape))})")
    bad = ~np.isfinite(X.reshape(len(X), -1))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ChainruleError(
            f"{source}: {_where(first_line, i)}: value {X.reshape(len(X), -1)[i, j]} "
            f"(feature {j + 1}); features must be finite numbers"
        )

    def column(j: int) -> str:
        return f"column {j + first_column}" if first_column else f"feature {j + 1}"

    check_magnitude(X.reshape(len(X), -1), source, lambda i: _where(first_line, i), column)
    return X


def _where(first_line: int | None, i: int) -> str:
    return f"example {i + 1}" if first_line is None else f"line {first_line + i}"
