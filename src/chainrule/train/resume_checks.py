"""What ``--resume`` checks before it continues a run: that the checkpoint's optimiser and generator
state fit this run, that its position lies inside an epoch, and that the training data is still the
data the run was trained on. Each refusal is one line naming the checkpoint (and the data file).
"""

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chainrule.data import Dataset, Scaler
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module
from chainrule.optim import Optimizer

if TYPE_CHECKING:
    from chainrule.train.checkpoint import Checkpoint

DAMAGED = "the checkpoint is damaged; start again with --out DIR --overwrite"


def restore_optimizer(path: Path, state: dict[str, np.ndarray], opt: Optimizer) -> None:
    """Load the checkpoint's optimiser ``state`` into ``opt`` after checking every entry's name, shape
    and values against the optimiser this run built (same settings, so the same buffers)."""
    want = opt.state_dict()
    missing = [k for k in want if k not in state]
    extra = [k for k in state if k not in want]
    if missing or extra:
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has unexpected {', '.join(extra)}"] if extra else []
        )
        raise ChainruleError(
            f"{path}: the optimiser state {' and '.join(parts)} ({type(opt).__name__} keeps "
            f"{', '.join(want)}); {DAMAGED}"
        )
    for key, fresh in want.items():
        got = np.asarray(state[key])
        if key == "steps":
            ok = got.size == 1 and got.dtype.kind in "iu" and int(got.reshape(())) >= 0
            if not ok:
                raise ChainruleError(
                    f"{path}: optimiser state 'steps' is {got.tolist()!r} ({got.dtype}); "
                    f"expected one whole number ≥ 0; {DAMAGED}"
                )
            continue
        if got.shape != fresh.shape:
            raise ChainruleError(
                f"{path}: optimiser state {key!r} has shape {got.shape}; its parameter has shape {fresh.shape}; "
                + DAMAGED
            )
        if got.dtype.kind != "f" or not np.isfinite(got).all():
            what = f"dtype {got.dtype}" if got.dtype.kind != "f" else "NaN or infinity"
            raise ChainruleError(f"{path}: optimiser state {key!r} holds {what}; expected finite floats; " + DAMAGED)
    opt.load_state_dict(state)


def restore_generator(path: Path, state, rng: np.random.Generator) -> None:
    """Set ``rng`` to the checkpoint's generator ``state`` (its shuffle order), or say why it cannot be."""
    if not state:
        raise ChainruleError(f"{path}: holds no generator state (rng_state), so the epoch's order is lost; {DAMAGED}")
    probe = np.random.Generator(type(rng.bit_generator)())
    try:
        probe.bit_generator.state = state  # NumPy checks the kind, keys and types
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ChainruleError(f"{path}: the generator state (rng_state) is damaged ({e}); {DAMAGED}") from None
    rng.bit_generator.state = state


def stored_scaling(ck: "Checkpoint", key: str = "scaling") -> Scaler:
    """The checkpoint's stored feature (or, ``key="target_scaling"``, target) scaling, checked."""
    try:
        return Scaler.from_json(ck.extra[key], "target" if key == "target_scaling" else "feature")
    except (ChainruleError, KeyError) as e:
        raise ChainruleError(f"{ck.path}: {e if isinstance(e, ChainruleError) else f'no stored {key}'}") from None


def restore_layer_generators(path: Path, model: Module, states) -> None:
    """The random layers' (Dropout's) generator states, one for each such layer of ``model``."""
    want = model.generator_states()
    if not isinstance(states, dict):
        raise ChainruleError(f"{path}: the random layers' generator states are damaged (not a table); {DAMAGED}")
    missing = [name for name in want if name not in states]
    if missing:
        raise ChainruleError(
            f"{path}: holds no generator state for random layer(s) {', '.join(missing)} (their masks would "
            f"not continue where they stopped); {DAMAGED}"
        )
    restored(path, "random layers' generator", lambda: model.load_generator_states(states))


def restored(path: Path, what: str, load):
    """``load()``'s result; a damaged state (a missing key, a wrong type) is an error naming ``what``."""
    try:
        return load()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        why = str(e) if isinstance(e, ChainruleError) else f"{type(e).__name__}: {e}"
        raise ChainruleError(f"{path}: the {what} state is damaged ({why}); {DAMAGED}") from None


def _examples(shape: tuple[int, ...]) -> str:
    return f"{shape[0]} features" if len(shape) == 1 else f"examples of shape {'×'.join(map(str, shape))}"


def check_same_data(ck: "Checkpoint", source: str, train: Dataset, outputs: int) -> None:
    """The training data (``source``, split as the run split it, needing ``outputs`` outputs) must be
    what the checkpoint's run was trained on: same example shape, outputs and number of examples."""
    changed = "(the file changed since the run began: restore it, or start a new run)"
    # the stored shape is the network's input (a CSV row's features, or an image's C×H×W)
    trained, shape = tuple(ck.extra.get("example_shape") or ()), tuple(train.example_shape)
    if len(trained) == 1:
        shape = (train.num_features,)
    if trained and shape != trained:
        raise ChainruleError(
            f"checkpoint {ck.path} was trained on {_examples(trained)}; {source} has {_examples(shape)} {changed}"
        )
    had = ck.extra.get("outputs")
    if had is not None and outputs != had:
        what = "classes" if ck.extra.get("task") == "classification" else "targets per example"
        raise ChainruleError(
            f"checkpoint {ck.path} was trained with {had} {what}; {source} now needs {outputs} {changed}"
        )
    if ck.examples is not None and len(train) != ck.examples:
        raise ChainruleError(
            f"checkpoint {ck.path} was trained on {ck.examples:,} training examples; {source} now gives "
            f"{len(train):,} {changed}"
        )


def check_position(path: Path, epoch: int, step: int, steps: int, n: int, batch: int) -> None:
    """The checkpoint's (epoch, step) must lie inside an epoch of ``steps`` steps."""
    if epoch < 0 or not 0 <= step < steps:
        raise ChainruleError(
            f"{path}: position epoch {epoch + 1}, step {step} is outside a run (an epoch has {steps} steps: "
            f"{n:,} examples in batches of {batch}); {DAMAGED}"
        )
