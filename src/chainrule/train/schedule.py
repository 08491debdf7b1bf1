"""--scheduler step|cosine|plateau for ``chainrule train``: PyTorch's StepLR / CosineAnnealingLR /
ReduceLROnPlateau, stepped once per epoch (after the epoch's steps, as PyTorch's loop does), their state kept
in the checkpoint. Plateau watches the validation loss when there is validation data, else the training loss
(Keras's ReduceLROnPlateau watches val_loss)."""

from typing import Any

from chainrule.errors import ChainruleError
from chainrule.optim import Optimizer
from chainrule.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, ReduceLROnPlateau, StepLR

# each scheduler's flags (settings keys) and their defaults; None: required
FLAGS: dict[str, dict[str, Any]] = {
    "step": {"step_size": None, "gamma": 0.1},
    "cosine": {"t_max": "epochs", "eta_min": 0.0},
    "plateau": {"factor": 0.1, "plateau_patience": 10, "threshold": 1e-4, "cooldown": 0, "min_lr": 0.0},
}
# settings key -> the scheduler's parameter name, where they differ (errors name the flag)
PARAMS = {"t_max": "T_max", "plateau_patience": "patience"}


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
        if s["scheduler"] == "plateau":
            return ReduceLROnPlateau(
                opt,
                factor=s["factor"],
                patience=s["plateau_patience"],
                threshold=s["threshold"],
                cooldown=s["cooldown"],
                min_lr=s["min_lr"],
            )
    except ChainruleError as e:  # name the flag the user gave, not the constructor's parameter
        text = str(e).replace("ReduceLROnPlateau: ", "")
        for key in (k for flags in FLAGS.values() for k in flags):
            text = text.replace(f"{PARAMS.get(key, key)} must", f"{_flag(key)} must")
        raise ChainruleError(f"--scheduler {s['scheduler']}: {text}") from None
    return None


def step_scheduler(sched: LRScheduler | None, train_loss: float, val_loss: float | None) -> None:
    """The once-per-epoch step; ReduceLROnPlateau is given the loss it watches."""
    if isinstance(sched, ReduceLROnPlateau):
        sched.step(train_loss if val_loss is None else val_loss)
    elif sched is not None:
        sched.step()
