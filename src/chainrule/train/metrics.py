"""Loss, error, confusion matrix and per-class precision / recall / F1 of a network on a whole dataset,
class probabilities, and the metrics files.

Classification: error = fraction of examples whose arg-max output is not the label.
Regression: error = mean squared error over every output (PyTorch's MSELoss), with its root (RMSE)
and the mean absolute error (MAE), all in the targets' own units (a standardisation of the targets
is undone first), next to the loss ½ Σ (ŷ − y)² per example (the recitation's squared error) on the
targets as the network was trained on them.
"""

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainrule.core.functional import softmax
from chainrule.data.scaling import Scaler
from chainrule.files import atomic_write_bytes
from chainrule.nn.containers import Sequential
from chainrule.nn.losses import Loss

FIELDS = ("epoch", "train_loss", "train_error", "val_loss", "val_error")
# regression runs add these columns (train_error / val_error hold the MSE)
REGRESSION_FIELDS = ("train_rmse", "train_mae", "val_rmse", "val_mae")


@dataclass
class Evaluation:
    loss: float
    error: float  # the misclassified fraction, or a regression's MSE
    predictions: np.ndarray  # (n,) labels, or (n, k) values for regression (in the targets' units)
    mae: float | None = None  # regression only

    @property
    def rmse(self) -> float:
        return math.sqrt(self.error)


def predict_outputs(net: Sequential, X: np.ndarray, batch: int = 512) -> np.ndarray:
    """The network's outputs for every example, in batches (X : (n, *shape) -> (n, outputs)), in eval mode."""
    with net.mode(training=False):
        return np.concatenate([net.forward(X[i : i + batch]) for i in range(0, len(X), batch)])


def evaluate(
    net: Sequential,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    task: str,
    batch: int = 512,
    target: Scaler | None = None,
) -> Evaluation:
    """Mean loss and error over all of (X, y), computed batch by batch (weights by batch size).

    ``target``: the regression targets' scaling (y is scaled by it); the loss is on y as given, the
    MSE / MAE and predictions in the targets' units.
    """
    out = predict_outputs(net, X, batch)
    # the loss batch by batch over the same slices as the forward passes, so the sum is unchanged
    total = sum(
        loss.forward(out[i : i + batch], y[i : i + batch]) * len(out[i : i + batch]) for i in range(0, len(X), batch)
    )
    if task == "classification":
        pred = np.argmax(out, axis=1)
        error = float(np.mean(pred != y))
        return Evaluation(total / len(X), error, pred)
    truth = np.asarray(y, dtype=out.dtype).reshape(out.shape)
    if target is not None:
        out, truth = target.inverse(out), target.inverse(truth)
    diff = out - truth
    return Evaluation(total / len(X), float(np.mean(diff**2)), out, float(np.mean(np.abs(diff))))


def fmt_number(v: float) -> str:
    """``v`` to 4 significant digits, with thousands separators as ``summary`` prints counts:
    3012.3 -> ``3,012``, 54.876 -> ``54.88``, 0.01234 -> ``0.01234``; beyond 1e15 or NaN: ``%.4g``."""
    if not math.isfinite(v) or abs(v) >= 1e15 or abs(v) < 1:
        return f"{v:.4g}"
    decimals = max(0, 3 - math.floor(math.log10(abs(v))))
    return f"{v:,.{decimals}f}"


def confusion_matrix(y: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts: row = true label, column = predicted label."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def class_probabilities(logits: np.ndarray) -> np.ndarray:
    """softmax of a cross-entropy network's logits (n, C) -> (n, C), each row summing to 1.

    Computed in float64 whatever the network's dtype, so rows sum to 1 to double precision.
    """
    return softmax(np.asarray(logits, dtype=np.float64), axis=1)


def class_report(m: np.ndarray) -> list[dict]:
    """Per-class precision, recall, F1 and support from a confusion matrix m (classes, classes).

    precision_k = m[k,k] / Σ_i m[i,k] (column), recall_k = m[k,k] / Σ_j m[k,j] (row),
    F1_k = 2 p r / (p + r); a 0/0 is 0, as scikit-learn's default ``zero_division``.
    """
    tp = np.diag(m).astype(np.float64)
    predicted, actual = m.sum(axis=0), m.sum(axis=1)

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)

    p, r = ratio(tp, predicted), ratio(tp, actual)
    f1 = ratio(2 * p * r, p + r)
    return [
        {"class": k, "precision": float(p[k]), "recall": float(r[k]), "f1": float(f1[k]), "support": int(actual[k])}
        for k in range(m.shape[0])
    ]


def format_confusion(m: np.ndarray) -> str:
    """The matrix as text: rows are true labels, columns predicted labels."""
    w = max(3, len(str(m.max())) + 1)
    head = "true\\pred".ljust(10) + "".join(str(j).rjust(w) for j in range(m.shape[1]))
    rows = [str(i).ljust(10) + "".join(str(v).rjust(w) for v in row) for i, row in enumerate(m)]
    return "\n".join([head, *rows])


def write_metrics(out_dir: Path, history: list[dict]) -> None:
    """metrics.json ({"epochs": [...]}) and metrics.csv, each written atomically (a regression run's
    rows also hold RMSE and MAE)."""
    fields = FIELDS + (REGRESSION_FIELDS if history and "train_mae" in history[0] else ())
    rows = [{k: h.get(k) for k in fields} for h in history]
    atomic_write_bytes(out_dir / "metrics.json", (json.dumps({"epochs": rows}, indent=1) + "\n").encode())
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_bytes(out_dir / "metrics.csv", buf.getvalue().encode())
