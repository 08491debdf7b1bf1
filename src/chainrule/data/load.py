"""One entry point for every data format, chosen by the file's name."""

import math
from pathlib import Path

from chainrule.data.csv import load_csv
from chainrule.data.dataset import Dataset
from chainrule.data.idx import is_idx_name, load_idx
from chainrule.data.npz import load_npz
from chainrule.errors import ChainruleError
from chainrule.files import missing


def parse_shape(text: str) -> tuple[int, ...]:
    """ "28,28" → (1, 28, 28);  "3,32,32" → (3, 32, 32)  (also "28x28")."""
    try:
        dims = tuple(int(p) for p in text.replace("x", ",").replace("×", ",").split(",") if p.strip())
    except ValueError:
        dims = ()
    if len(dims) not in (2, 3) or min(dims) < 1:
        raise ChainruleError(f"--image-shape {text!r} is not a shape; expected H,W or C,H,W (e.g. 28,28)")
    return (1, *dims) if len(dims) == 2 else dims


def load_data(
    path: "str | Path",
    task: str = "classification",
    labels: "str | Path | None" = None,
    image_shape: tuple[int, ...] | None = None,
    labelled: bool = True,
) -> Dataset:
    """A Dataset from a .csv, .npz or IDX file; ``image_shape`` views each example as (C, H, W)."""
    path = Path(path)
    if not path.exists():
        raise ChainruleError(missing(path))
    suffix = path.name.lower().removesuffix(".gz")
    if is_idx_name(path):
        data = load_idx(path, labels, task, labelled)
    elif labels is not None:
        raise ChainruleError(f"{path}: a separate labels file only goes with IDX images, not this format")
    elif suffix.endswith(".csv") or suffix.endswith(".txt"):
        data = load_csv(path, task, labelled)
    elif suffix.endswith(".npz"):
        data = load_npz(path, task, labelled)
    else:
        raise ChainruleError(
            f"{path}: unknown data format; expected .csv (label first), .npz (X, y) or "
            "IDX (…-idx3-ubyte[.gz] with its …-idx1-ubyte labels)"
        )
    if image_shape is not None:
        if math.prod(image_shape) != data.num_features:
            raise ChainruleError(
                f"{path}: --image-shape {','.join(map(str, image_shape))} needs "
                f"{math.prod(image_shape)} values per example, but the "
                f"file's examples have {data.num_features}"
            )
        data = data.reshaped(image_shape)
    return data
