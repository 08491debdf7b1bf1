"""Checks made before a run trains, so a run that cannot finish is refused in its first second, by name:
the ``--out`` folder must take files, and the network must fit in memory while it trains.

Memory of training, estimated from shapes (float64: 8 bytes a value, float32: 4):
  parameters × 5   the weights, their gradients, up to two optimiser buffers (Adam's moments) and
                   one scratch buffer for weight decay;
  rows × widths × 4   every layer's output for a batch (or an evaluation slice of 512 examples),
                   the gradient flowing back, and one temporary each.
The estimate is refused above the memory the system reports available (core.memory).
"""

import errno
import math
import os
import tempfile
from pathlib import Path

from chainrule.core.memory import check_fits
from chainrule.errors import ChainruleError
from chainrule.files import reason

PARAMETER_COPIES = 5
ACTIVATION_COPIES = 4
EVAL_ROWS = 512  # train.metrics.evaluate's slice
VERB = "(weights, gradients, optimiser state, a batch's values) needs about"


def check_out_writable(out: Path, flag: str = "--out") -> None:
    """A file can be made in ``out`` (or, if it does not exist yet, in the folder it would be made in).

    Tried by making and removing a temporary file: permissions alone do not tell about a read-only
    file system, a full disk's inodes or an ACL.
    """
    if out.is_dir():
        try:
            fd, probe = tempfile.mkstemp(dir=out, prefix=".chainrule-probe.", suffix=".tmp")
        except OSError as e:
            raise ChainruleError(f"{flag} {out}: cannot write there: {reason(e)}") from None
        os.close(fd)
        os.unlink(probe)
        return
    above = next((p for p in out.absolute().parents if p.exists()), None)
    if above is not None and above.is_dir() and not os.access(above, os.W_OK | os.X_OK):
        raise ChainruleError(
            f"{flag} {out}: cannot be made: {reason(OSError(errno.EACCES, os.strerror(errno.EACCES)))} in {above}"
        )


def training_bytes(parameters: int, widths: int, rows: int, itemsize: int) -> int:
    """Estimated bytes to train ``parameters`` with ``widths`` output values per example over ``rows``."""
    return (parameters * PARAMETER_COPIES + rows * widths * ACTIVATION_COPIES) * itemsize


def check_mlp(features: int, hidden: list[int], outputs: int, itemsize: int, flag: str, rows: int) -> None:
    """Before building an MLP features → hidden… → outputs from a flag (``flag`` names it, with its value)."""
    sizes = [features, *hidden, outputs]
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    check_fits(
        training_bytes(parameters, 2 * sum(sizes[1:]), rows, itemsize),
        f"{flag}: a {'→'.join(map(str, sizes))} network has {parameters:,} parameters; training it",
        "use fewer hidden units (or a smaller --batch-size)",
        VERB,
    )


def rows(batch: int, examples: int) -> int:
    """Examples passed through the network at once: a batch, or an evaluation slice, of the largest set."""
    return min(max(batch, EVAL_ROWS), examples)


def check_mlp_flags(s: dict, features: int, outputs: int, itemsize: int, examples: int) -> None:
    """``chainrule train``'s MLP from its resolved settings ``s`` (--hidden, --batch-size)."""
    from chainrule.train.models import parse_hidden

    at_once = rows(int(s["batch_size"]), examples)
    check_mlp(features, parse_hidden(s["hidden"]), outputs, itemsize, f"--hidden {s['hidden']}", at_once)


def check_network(net, example_shape: tuple[int, ...], batch: int, itemsize: int, what: str, examples: int) -> None:
    """After building a network (its layers each fitted in memory), before training it."""
    widths, shape = 0, tuple(example_shape)
    for layer in getattr(net, "layers", [net]):
        try:
            shape = layer.output_shape(shape)
        except ChainruleError:  # the shape check that follows names a network that does not fit the data
            break
        widths += math.prod(shape)
    check_fits(
        training_bytes(net.num_parameters(), widths, rows(batch, examples), itemsize),
        f"{what}: training its {net.num_parameters():,} parameters with batches of {batch}",
        "use a smaller network or --batch-size",
        VERB,
    )
