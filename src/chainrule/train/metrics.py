"""Loss, error, confusion matrix and per-class precision / recall / F1 of a network on a whole dataset,
class probabilities, and the metrics files.

Classification: error = fraction of examples whose arg-max output is not the label.
Regression: error = mean squared error over every output (PyTorch's MSELoss), next to the
loss ½ Σ (ŷ − y)² per example (the recitation's squared error).
"""

import csv
import io
import json
from dataclasses import dataclass

import numpy as np

from chainrule.core.functional import softmax
from chainrule.files import atomic_write_bytes
from chainrule.nn.containers import Sequential
from chainrule.nn.losses import Loss

FIELDS = ("epoch", "train_loss", "train_error", "val_loss", "val_error")


@dataclass
class Evaluation:
    loss: float
    error: float
    predictions: np.ndarray  # (n,) labels, or (n, k) values for regression


def predict_outputs(net: Sequential, X: np.ndarray, batch: int = 512) -> np.ndarray:
    """The network's outputs for every example, in batches (X : (n, *shape) -> (n, outputs)), in eval mode."""
    with net.mode(training=False):
        return np.concatenate([net.forward(X[i : i + batch]) for i in range(0, len(X), batch)])


def evaluate(net: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray, task: str, batch: int = 512) -> Evaluation:
    """Mean loss and error over all of (X, y), computed batch by batch (weights by batch size)."""
    out = predict_outputs(net, X, batch)
    # the loss batch by batch over the same slices as the forward passes, so the sum is unchanged
    total = sum(
        loss.forward(out[i : i + batch], y[i : i + batch]) * len(out[i : i + batch]) for i in range(0, len(X), batch)
    )
    if task == "classification":
        pred = np.argmax(out, axis=1)
        error = float(np.mean(pred != y))
    else:
        pred = out
        error = float(np.mean((out - np.asarray(y, dtype=out.dtype).reshape(out.shape)) ** 2))
    return Evaluation(total / len(X), error, pred)


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

    def ratio(a, b):
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


def write_metrics(out_dir, history: list[dict]) -> None:
    """metrics.json ({"epochs": [...]}) and metrics.csv, each written atomically."""
    rows = [{k: h.get(k) for k in FIELDS} for h in history]
    atomic_write_bytes(out_dir / "metrics.json", (json.dumps({"epochs": rows}, indent=1) + "\n").encode())
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_bytes(out_dir / "metrics.csv", buf.getvalue().encode())
