"""--scheduler step|cosine for ``chainrule train``: PyTorch's StepLR / CosineAnnealingLR, stepped once per
epoch (after the epoch's steps, as PyTorch's loop does), their state kept in the checkpoint."""

from typing import Any

from chainrule.errors import ChainruleError
from chainrule.optim import Optimizer
from chainrule.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR

# each scheduler's flags (settings keys) and their defaults; None: required
FLAGS: dict[str, dict[str, Any]] = {
    "step": {"step_size": None, "gamma": 0.1},
    "cosine": {"t_max": "epochs", "eta_min": 0.0},
}


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def check_schedule(s: dict) -> None:
    """Fills in the chosen scheduler's defaults (T_max: --epochs); refuses a flag of the other one."""
    name = s["scheduler"]
    if name is not None and name not in FLAGS:
        raise ChainruleError(f"--scheduler {name!r}: expected one of {', '.join(FLAGS)}")
    for other, flags in FLAGS.items():
        for key in flags:
            if other != name and s[key] is not None:
                raise ChainruleError(
                    f"{_flag(key)} applies to --scheduler {other} only"
                    + (f", not {name}" if name else " (no --scheduler was given)")
                )
    for key, default in FLAGS.get(name, {}).items():
        if s[key] is None:
            if default is None:
                raise ChainruleError(f"--scheduler {name} needs {_flag(key)} N (epochs between decays)")
            s[key] = int(s["epochs"]) if default == "epochs" else default


def make_scheduler(s: dict, opt: Optimizer) -> LRScheduler | None:
    try:
        if s["scheduler"] == "step":
            return StepLR(opt, s["step_size"], s["gamma"])
        if s["scheduler"] == "cosine":
            return CosineAnnealingLR(opt, s["t_max"], s["eta_min"])
    except ChainruleError as e:  # name the flag the user gave, not the constructor's parameter
        text = str(e)
        for key, param in (("step_size", "step_size"), ("gamma", "gamma"), ("t_max", "T_max"), ("eta_min", "eta_min")):
            text = text.replace(f": {param} must", f": {_flag(key)} must")
        raise ChainruleError(f"--scheduler {s['scheduler']}: {text}") from None
    return None
