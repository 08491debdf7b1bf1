"""Feature scaling fitted on the training set and stored (as JSON) with the model.

x' = (x − shift) / scale, per feature:  "standard": shift = mean, scale = std;
"minmax": shift = min, scale = max − min;  "none": identity. A constant feature gets scale 1.
The same Scaler standardises regression targets (y' = (y − mean) / std per output); ``inverse``
takes the network's outputs back to the targets' units.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from chainrule.data.dataset import Dataset
from chainrule.errors import ChainruleError

KINDS = ("standard", "minmax", "none")


@dataclass
class Scaler:
    kind: str = "none"
    shift: np.ndarray | None = None  # (features,)
    scale: np.ndarray | None = None  # (features,)

    @classmethod
    def fit(cls, kind: str, X: np.ndarray) -> "Scaler":
        """Fit on X : (n, *example_shape); statistics per feature (flattened example)."""
        if kind not in KINDS:
            raise ChainruleError(f"unknown scaling {kind!r}; expected one of {', '.join(KINDS)}")
        if kind == "none":
            return cls("none")
        flat = X.reshape(len(X), -1)
        if kind == "standard":
            shift, scale = flat.mean(axis=0), flat.std(axis=0)
        else:
            shift, scale = flat.min(axis=0), flat.max(axis=0) - flat.min(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, shift, scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "none" or self.shift is None or self.scale is None:  # "none" stores no arrays
            return X
        flat = X.reshape(len(X), -1)
        if flat.shape[1] != self.shift.shape[0]:
            raise ChainruleError(
                f"scaling was fitted on {self.shift.shape[0]} features; these examples have {flat.shape[1]}"
            )
        return ((flat - self.shift) / self.scale).reshape(X.shape)

    def inverse(self, Y: np.ndarray) -> np.ndarray:
        """Undo ``transform``: Y · scale + shift, Y : (n, k) with one shift and scale per column."""
        if self.shift is None or self.scale is None:
            return Y
        return Y * self.scale + self.shift  # float64, whatever the network's dtype

    def to_json(self) -> dict:
        if self.kind == "none" or self.shift is None or self.scale is None:
            return {"kind": "none"}
        return {"kind": self.kind, "shift": self.shift.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, d: dict, what: str = "feature") -> "Scaler":
        """The scaling stored by ``to_json``; damaged values (a scale of 0, NaN, lengths that differ) are
        refused here, by ``what`` is scaled ("feature 3", "target 1"), rather than turned into infinities
        by ``transform``."""
        try:
            if d["kind"] == "none":
                return cls("none")
            shift, scale = np.asarray(d["shift"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64)
            kind = d["kind"]
        except (KeyError, TypeError, ValueError) as e:
            raise ChainruleError(f"the stored {what} scaling is damaged ({e})") from None
        if kind not in KINDS or shift.ndim != 1 or shift.shape != scale.shape:
            raise ChainruleError(
                f"the stored {what} scaling is damaged (kind {kind!r}, shift of shape {shift.shape}, "
                f"scale of shape {scale.shape})"
            )
        for name, v, bad in (
            ("shift", shift, ~np.isfinite(shift)),
            ("scale", scale, ~(np.isfinite(scale) & (scale > 0))),
        ):
            if bad.any():
                j = int(np.argmax(bad))
                raise ChainruleError(
                    f"the stored {what} scaling is damaged: its {name} of {what} {j + 1} is {float(v[j])!r}"
                    + ("; a scale must be a finite number > 0" if name == "scale" else "; it must be finite")
                )
        return cls(kind, shift, scale)


def ready(
    ds: Dataset, scaler: Scaler, input_shape: tuple[int, ...], dtype: DTypeLike, target: Scaler | None = None
) -> Dataset:
    """``ds`` made ready for a network: scaled, X viewed as (n, *input_shape), contiguous, in ``dtype``.

    Regression targets are scaled by ``target`` (if given) and take ``dtype`` too (the loss compares
    them with the outputs); labels stay int64.
    """
    X = scaler.transform(ds.X).reshape((len(ds), *input_shape)).astype(dtype)
    y = ds.y
    if ds.task == "regression" and y is not None:
        y = (y if target is None else target.transform(y)).astype(dtype)
    return Dataset(np.ascontiguousarray(X), y, ds.task, ds.source)
