"""Using a trained model: load it with its metadata, and load data the way it was trained on.

The model file's ``extra`` metadata (written by ``chainrule train``) says the task, the number of
classes, the per-example shape and the feature scaling; data is scaled and shaped the same way.
"""

from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from chainrule.data import Dataset, Scaler, load_data, ready
from chainrule.data.csv import read_csv_rows, rows_to_dataset
from chainrule.errors import ChainruleError
from chainrule.files import missing as missing_file
from chainrule.nn.containers import Sequential
from chainrule.nn.losses import LOSSES, Loss
from chainrule.serialize import load_model
from chainrule.train.metrics import predict_outputs

NEEDED = ("task", "input_shape", "example_shape", "scaling", "loss")


def load_trained(path: "str | Path") -> tuple[Sequential, dict]:
    """(network, extra metadata) of a model written by ``chainrule train``."""
    net, extra = load_model(path)
    missing = [k for k in NEEDED if k not in extra]
    if missing:
        raise ChainruleError(
            f"{path}: a chainrule model, but not one written by chainrule train "
            f"(its metadata lacks {', '.join(missing)})"
        )
    try:  # load_for_model applies them; a damaged one is named here, with the file
        Scaler.from_json(extra["scaling"])
        target_scaler(extra)
    except ChainruleError as e:
        raise ChainruleError(f"{path}: {e}") from None
    return (net if isinstance(net, Sequential) else Sequential(net)), extra


def load_for_model(
    extra: dict,
    data: "str | Path",
    labels: "str | Path | None",
    need_labels: bool,
    dtype: DTypeLike = np.float64,
) -> Dataset:
    """``data`` scaled, shaped and cast (``dtype``: the network's) for the model, as training made it ready.

    CSV: label column optional (detected by the row width).
    """
    data = Path(data)
    task = extra["task"]
    example = tuple(extra["example_shape"])
    features = int(np.prod(example))
    name = data.name.lower().removesuffix(".gz")
    if name.endswith(".csv") or name.endswith(".txt"):
        if not data.exists():
            raise ChainruleError(missing_file(data))
        if labels is not None:  # as load_data says for every format but IDX (it was ignored here)
            raise ChainruleError(f"{data}: a separate labels file only goes with IDX images, not this format")
        rows, first = read_csv_rows(data)
        width = rows.shape[1]
        if width == features + 1 or (width == features and not need_labels):
            ds = rows_to_dataset(rows, first, data, task, labelled=width == features + 1)
        else:
            want = f"{features + 1} (label, then {features} features)"
            if not need_labels:
                want += f" or {features} (features only)"
            raise ChainruleError(f"{data}: lines have {width} columns; this model expects {want}")
    else:
        ds = load_data(data, task, labels, labelled=need_labels)
        if ds.num_features != features:
            raise ChainruleError(
                f"{data}: examples have {ds.num_features} values; this model takes {features} "
                f"(shape {'×'.join(map(str, example))})"
            )
    ds = ready(ds, Scaler.from_json(extra["scaling"]), tuple(extra["input_shape"]), dtype, target_scaler(extra))
    y = ds.y
    if task == "classification" and y is not None and len(y) and y.max() >= extra["classes"]:
        i = int(np.argmax(y))
        raise ChainruleError(
            f"{data}: example {i + 1} has label {y[i]}, but the model knows "
            f"{extra['classes']} classes (0…{extra['classes'] - 1})"
        )
    return ds


def loss_of(extra: dict) -> Loss:
    return LOSSES[extra["loss"]](**extra.get("loss_config", {}))


def target_scaler(extra: dict) -> Scaler | None:
    """The regression targets' stored standardisation; None for a classifier or a model file written
    before targets were standardised (its outputs are the targets' units already)."""
    stored = extra.get("target_scaling")
    return None if stored is None else Scaler.from_json(stored, "target")


def predict(net: Sequential, extra: dict, X: np.ndarray) -> np.ndarray:
    """The model's outputs (n, outputs) for X made ready by ``load_for_model``: a regression model's in
    the targets' units (its stored target standardisation undone), a classifier's logits as they are."""
    out = predict_outputs(net, X)
    target = target_scaler(extra)
    return out if target is None else target.inverse(out)
