"""Learning-rate schedulers (https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate).

A scheduler sets ``optimizer.lr`` once per ``step()`` (once per epoch, as in PyTorch). StepLR and
CosineAnnealingLR are pure functions of the epoch e (``lr_at(e)``, nanoGPT's way), so their state is
just e; ReduceLROnPlateau reacts to the metrics it is given and keeps what it has seen.

    StepLR:             lr(e) = lr₀ γ^⌊e / step_size⌋
    CosineAnnealingLR:  lr(e) = η_min + (lr₀ − η_min)(1 + cos(π e / T_max)) / 2
    ReduceLROnPlateau:  lr ← max(lr · factor, min_lr) after more than ``patience`` epochs without improvement

``state_dict()`` holds plain numbers (a checkpoint stores them), ``load_state_dict`` restores them and
the optimiser's lr.
"""

import math

from chainrule.errors import ChainruleError
from chainrule.optim.optimizers import Optimizer


def _number(
    sched: str,
    name: str,
    value: float,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    whole: bool = False,
) -> float:
    """``value`` checked to lie in [low, high) ((low, high) with low_open), or an error naming both."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and value != int(value))
    if bad or not (low < value if low_open else low <= value) or not value < high:
        span = f"{'>' if low_open else '≥'} {low:g}" + (f" and < {high:g}" if high < math.inf else "")
        raise ChainruleError(f"{sched}: {name} must be a {'whole' if whole else 'finite'} number {span}, got {value!r}")
    return int(value) if whole else float(value)


class LRScheduler:
    """Base: holds the optimiser, its initial lr (``base_lr``) and the epoch count ``last_epoch``."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise ChainruleError(
                f"{type(self).__name__}: needs an optimiser to schedule (SGD, Adam, …), got "
                f"{type(optimizer).__name__ if optimizer is not None else 'None'}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "base_lr": self.base_lr}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch, self.base_lr = int(state["last_epoch"]), float(state["base_lr"])
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        self.step_size = _number("StepLR", "step_size", step_size, 1, whole=True)
        self.gamma = _number("StepLR", "gamma", gamma, 0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):  # noqa: N803 (PyTorch's name)
        super().__init__(optimizer)
        self.T_max = _number("CosineAnnealingLR", "T_max", T_max, 1, whole=True)
        self.eta_min = _number("CosineAnnealingLR", "eta_min", eta_min, 0)

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class ReduceLROnPlateau(LRScheduler):
    """PyTorch's ReduceLROnPlateau: ``step(metric)``; 'min' mode wants the metric to fall, 'max' to rise.

    An epoch improves when metric < best·(1 − threshold) ('rel') or < best − threshold ('abs') (mirrored
    for 'max'); after more than ``patience`` epochs without one, lr ← max(lr · factor, min_lr) (unless that
    changes lr by no more than ``eps``), and ``cooldown`` epochs follow in which bad epochs do not count.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ):
        super().__init__(optimizer)
        if mode not in ("min", "max"):
            raise ChainruleError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ChainruleError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = _number("ReduceLROnPlateau", "factor", factor, 0, 1, low_open=True)
        self.patience = _number("ReduceLROnPlateau", "patience", patience, 0, whole=True)
        self.threshold = _number("ReduceLROnPlateau", "threshold", threshold, 0)
        self.cooldown = int(_number("ReduceLROnPlateau", "cooldown", cooldown, 0, whole=True))
        self.min_lr = _number("ReduceLROnPlateau", "min_lr", min_lr, 0)
        self.eps = _number("ReduceLROnPlateau", "eps", eps, 0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0

    def _is_better(self, a: float) -> bool:
        t, best = self.threshold, self.best
        if self.mode == "min":
            return a < (best * (1 - t) if self.threshold_mode == "rel" else best - t)
        return a > (best * (1 + t) if self.threshold_mode == "rel" else best + t)

    def step(self, metric: float) -> None:  # type: ignore[override]
        current = float(metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = self.optimizer.lr
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def state_dict(self) -> dict:
        return {
            **super().state_dict(),
            "lr": self.optimizer.lr,
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch, self.base_lr = int(state["last_epoch"]), float(state["base_lr"])
        self.optimizer.lr, self.best = float(state["lr"]), float(state["best"])
        self.num_bad_epochs, self.cooldown_counter = int(state["num_bad_epochs"]), int(state["cooldown_counter"])


SCHEDULERS = {"step": StepLR, "cosine": CosineAnnealingLR, "plateau": ReduceLROnPlateau}
