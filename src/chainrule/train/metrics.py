"""Loss, error and confusion matrix of a network on a whole dataset, and the metrics files.

Classification: error = fraction of examples whose arg-max output is not the label.
Regression: error = mean squared error over every output (PyTorch's MSELoss), next to the
loss ½ Σ (ŷ − y)² per example (the recitation's squared error).
"""

import csv
import io
import json
from dataclasses import dataclass

import numpy as np

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
        return np.concatenate([net.forward(X[i:i + batch]) for i in range(0, len(X), batch)])


def evaluate(net: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray, task: str,
             batch: int = 512) -> Evaluation:
    """Mean loss and error over all of (X, y), computed batch by batch (weights by batch size)."""
    out = predict_outputs(net, X, batch)
    # the loss batch by batch over the same slices as the forward passes, so the sum is unchanged
    total = sum(loss.forward(out[i:i + batch], y[i:i + batch]) * len(out[i:i + batch])
                for i in range(0, len(X), batch))
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
