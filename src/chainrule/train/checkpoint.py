"""Checkpoints: everything a run needs to continue bit for bit, in one atomically written file.

``checkpoint.safetensors`` holds the network's tensors (``model.<PyTorch name>``), the optimiser's
buffers (``optim.<buffer>.<i>``) and, as JSON metadata, where the run stands (the epoch and the step
within it), the Generator's ``bit_generator.state`` at the start of that epoch, the metrics so far,
the architecture and the run's settings. Resuming recomputes the epoch's shuffle from that state and
skips the steps already taken, so an interrupted run ends with exactly the weights of one that was not.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.module import Module
from chainrule.serialize import read_safetensors, write_safetensors

NAME = "checkpoint.safetensors"
FORMAT = "chainrule-checkpoint"


@dataclass
class Checkpoint:
    model: Module
    optim_state: dict[str, np.ndarray]
    epoch: int  # 0-based epoch to run next (or to continue)
    step: int  # steps of that epoch already taken
    rng_state: dict  # bit_generator.state at the start of ``epoch``
    history: list[dict]
    settings: dict  # the run's settings (flags), so --resume needs none
    extra: dict  # model-file metadata: task, classes, input shape, scaling
    early_stop: dict | None = None  # EarlyStopping.meta() (--early-stop runs)
    best: dict[str, np.ndarray] | None = None  # the best epoch's weights (--early-stop runs)
    scheduler: dict | None = None  # the lr scheduler's state_dict() (--scheduler runs)
    examples: int | None = None  # training examples after the split (None in older checkpoints)
    path: Path | None = None  # the file it was loaded from


def save_checkpoint(out_dir: Path, ck: Checkpoint) -> None:
    tensors = {f"model.{k}": v for k, v in ck.model.state_dict().items()}
    tensors.update({f"optim.{k}": v for k, v in ck.optim_state.items()})
    tensors.update({f"best.{k}": v for k, v in (ck.best or {}).items()})
    meta = {
        "format": FORMAT,
        "epoch": ck.epoch,
        "step": ck.step,
        "rng_state": ck.rng_state,
        "history": ck.history,
        "settings": ck.settings,
        "extra": ck.extra,
        "architecture": ck.model.to_config(),
        "generators": ck.model.generator_states(),  # Dropout masks continue where they stopped
        "early_stop": ck.early_stop,
        "scheduler": ck.scheduler,
        "examples": ck.examples,
    }
    write_safetensors(Path(out_dir) / NAME, tensors, FORMAT, meta)


def load_checkpoint(out_dir: Path) -> Checkpoint:
    from safetensors import SafetensorError

    path = Path(out_dir) / NAME
    if not path.is_file():
        raise ChainruleError(f"{out_dir}: no {NAME} here to resume from (was the run started with --out?)")
    try:
        tensors, metadata = read_safetensors(path, "a checkpoint")
        meta = json.loads(metadata[FORMAT])
        model = Module.from_config(meta["architecture"])
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        ck = Checkpoint(
            model,
            {k[6:]: v for k, v in tensors.items() if k.startswith("optim.")},
            int(meta["epoch"]),
            int(meta["step"]),
            meta.get("rng_state"),  # resume_checks names a missing or damaged one
            meta["history"],
            meta["settings"],
            meta["extra"],
            meta.get("early_stop"),
            {k[5:]: v for k, v in tensors.items() if k.startswith("best.")},
            meta.get("scheduler"),
            None if meta.get("examples") is None else int(meta["examples"]),
            path,
        )
    except (SafetensorError, ValueError, KeyError, TypeError) as e:
        raise ChainruleError(
            f"{path}: not a usable chainrule checkpoint ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''})"
        ) from None
    from chainrule.train.resume_checks import restore_layer_generators

    restore_layer_generators(path, model, meta.get("generators", {}))  # Dropout masks continue where they stopped
    return ck
