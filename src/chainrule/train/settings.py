"""A run's settings: every flag's default (and each preset's and optimiser's own), resolved and checked.

``resolve`` turns the command line's settings (None where a flag was left out) into the complete,
checked settings a run trains with and its checkpoint keeps.
"""

import math
import os
from typing import Any

from chainrule.core import threads
from chainrule.errors import ChainruleError
from chainrule.optim import OPTIMIZERS
from chainrule.train.early_stop import check_patience
from chainrule.train.schedule import check_schedule

DEFAULTS: dict[str, Any] = {
    "train": None,
    "train_labels": None,
    "validation": None,
    "validation_labels": None,
    "val_split": 0.2,
    "split_seed": 0,
    "image_shape": None,
    "task": "classification",
    "scale": "standard",
    "target_scaling": "standard",
    "model": "mlp",
    "hidden": "128",
    "activation": "tanh",
    "init": "default",
    "optimizer": "sgd",
    "lr": None,
    "momentum": None,
    "weight_decay": 0.0,
    "batch_size": 32,
    "epochs": 20,
    "shuffle": True,
    "seed": 0,
    "dtype": "float64",
    "threads": None,  # chainrule.get_num_threads(): the CPUs this process may run on
    "early_stop": None,
    "scheduler": None,
    "step_size": None,
    "gamma": None,
    "t_max": None,
    "eta_min": None,
    "factor": None,
    "plateau_patience": None,
    "threshold": None,
    "cooldown": None,
    "min_lr": None,
}
# the CNN preset trains steadily with Adam; SGD at the MLP's rate oscillates on digits
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {"cnn": {"optimizer": "adam", "lr": 0.002, "epochs": 15}}
PRESET_DEFAULTS["cnn-bn"] = PRESET_DEFAULTS["cnn"]
# what an unset --lr / --momentum means for each optimiser (only SGD has momentum)
OPTIMIZER_DEFAULTS = {
    "sgd": {"lr": 0.05, "momentum": 0.9},
    "adagrad": {"lr": 0.05, "momentum": 0.0},
    "adam": {"lr": 1e-3, "momentum": 0.0},
    "adamw": {"lr": 1e-3, "momentum": 0.0},
    "rmsprop": {"lr": 1e-2, "momentum": 0.0},
}


def resolve(settings: dict) -> dict:
    """Defaults filled in for every setting left as None; paths made absolute (so --resume works anywhere)."""
    preset = PRESET_DEFAULTS.get(settings.get("model") or DEFAULTS["model"], {})
    s: dict[str, Any] = {
        k: (settings.get(k) if settings.get(k) is not None else preset.get(k, v)) for k, v in DEFAULTS.items()
    }
    for k in ("train", "train_labels", "validation", "validation_labels"):
        if s[k] is not None:
            s[k] = os.path.abspath(s[k])  # not resolve(): a link's own name (train.csv) says the format
    if s["model"].lower().endswith(".toml"):
        s["model"] = os.path.abspath(s["model"])
    if not 0 <= float(s["val_split"]) < 1:
        raise ChainruleError(f"--val-split must be at least 0 and below 1, got {s['val_split']}")
    if int(s["seed"]) < 0:
        raise ChainruleError(f"--seed must be ≥ 0 (NumPy's seeds are non-negative), got {s['seed']}")
    if s["optimizer"] not in OPTIMIZERS:
        raise ChainruleError(f"--optimizer {s['optimizer']!r}: expected one of {', '.join(OPTIMIZERS)}")
    for k, v in OPTIMIZER_DEFAULTS[s["optimizer"]].items():
        if s[k] is None:
            s[k] = v
    if s["threads"] is None:  # recorded with the run (speed only: no byte depends on it)
        s["threads"] = threads.get_num_threads()
    for k, low in (("batch_size", 1), ("epochs", 1), ("threads", 1)):
        if int(s[k]) < low:
            raise ChainruleError(f"--{k.replace('_', '-')} must be ≥ {low}, got {s[k]}")
    if not 0 < float(s["lr"]) < math.inf:
        raise ChainruleError(f"--lr must be a finite number > 0, got {s['lr']}")
    for k in ("momentum", "weight_decay"):
        if not 0 <= float(s[k]) < math.inf:
            raise ChainruleError(f"--{k.replace('_', '-')} must be a finite number ≥ 0, got {s[k]}")
    s["early_stop"] = check_patience(s["early_stop"])
    check_schedule(s)
    if s["task"] not in ("classification", "regression"):
        raise ChainruleError(f"--task {s['task']!r}: expected classification or regression")
    return s
