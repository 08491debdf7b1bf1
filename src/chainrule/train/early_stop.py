"""Early stopping on the validation loss, as Keras' ``EarlyStopping(patience, restore_best_weights=True)``.

An epoch improves when its validation loss is strictly below the best so far (min_delta 0); after
``patience`` epochs in a row without improvement the run stops, and the model kept (and saved) is the
best epoch's. The state (best loss, best epoch, epochs without improvement, the best weights) goes
into the checkpoint, so a resumed run stops at the same epoch with the same bytes.
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.module import Module


class EarlyStopping:
    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss: float | None = None
        self.best_epoch = 0  # 1-based; 0 until an epoch has finished
        self.wait = 0  # epochs since the best one
        self.best_weights: dict[str, np.ndarray] = {}  # the best epoch's state_dict (copies)

    @property
    def stopped(self) -> bool:
        return self.wait >= self.patience

    def update(self, epoch: int, val_loss: float, net: Module) -> bool:
        """Records finished ``epoch`` (1-based); True when the run should stop after it."""
        if self.best_loss is None or val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.wait = float(val_loss), epoch, 0
            self.best_weights = net.state_dict()
        else:
            self.wait += 1
        return self.stopped

    def restore(self, net: Module) -> None:
        if self.best_weights:
            net.load_state_dict(self.best_weights)

    def summary(self, last_epoch: int) -> str:
        """The one line saying which epoch was kept and why the run ended."""
        why = (
            f"stopped after epoch {last_epoch}: the validation loss has not improved for {self.wait} "
            f"epoch{'s' if self.wait != 1 else ''} (--early-stop {self.patience})"
            if self.stopped
            else f"ran all {last_epoch} epochs without stopping early"
        )
        return (
            f"early stopping: {why}; kept the model of epoch {self.best_epoch} "
            f"(lowest validation loss {self.best_loss:.6g})"
        )

    # checkpoint form: JSON-able metadata, and the best weights as tensors
    def meta(self) -> dict:
        return {
            "patience": self.patience,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
        }

    @classmethod
    def from_checkpoint(cls, patience: int, meta: dict | None, weights: dict[str, np.ndarray]) -> "EarlyStopping":
        es = cls(patience)
        if meta:
            es.best_loss, es.best_epoch, es.wait = meta["best_loss"], int(meta["best_epoch"]), int(meta["wait"])
            es.best_weights = dict(weights)
        return es


def check_patience(value: "int | str | None") -> int | None:
    if value is None:
        return None
    if int(value) < 1:
        raise ChainruleError(f"--early-stop must be ≥ 1 (epochs without improvement), got {value}")
    return int(value)
