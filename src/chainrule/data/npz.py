"""NPZ files holding arrays ``X`` (n, …) and ``y`` (n,) or (n, k). Loaded without pickle."""

import zipfile
from pathlib import Path

import numpy as np

from chainrule.data.dataset import Dataset, check_features, check_targets
from chainrule.data.limits import check_npz_members
from chainrule.errors import ChainruleError


def load_npz(path: "str | Path", task: str = "classification", labelled: bool = True) -> Dataset:
    path = Path(path)
    check_npz_members(path)  # sizes from the arrays' headers, before NumPy allocates them
    try:
        with np.load(path, allow_pickle=False) as f:
            names = set(f.files)
            if "X" not in names or (labelled and "y" not in names):
                want = "arrays 'X' and 'y'" if labelled else "an array 'X'"
                raise ChainruleError(f"{path}: holds {', '.join(sorted(names)) or 'no arrays'}; expected {want}")
            X = f["X"]
            y = f["y"] if "y" in names else None
    except ChainruleError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        if "pickle" in str(e):  # NumPy's guess for a file that is no zip archive; never follow its advice
            raise ChainruleError(f"{path}: not a .npz file (not a zip archive of NumPy arrays)") from None
        raise ChainruleError(
            f"{path}: not a readable .npz file (truncated or not NumPy's format?): "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    if X.ndim < 2 or X.shape[0] == 0:
        raise ChainruleError(f"{path}: X has shape {X.shape}; expected (examples, features…) with ≥ 1 example")
    if X.dtype.kind not in "biuf":
        raise ChainruleError(f"{path}: X has dtype {X.dtype}; expected numbers")
    if y is not None and labelled and y.ndim == 0:
        raise ChainruleError(
            f"{path}: y is a single number; expected one label or target per example, shape ({X.shape[0]},)"
        )
    if y is not None and labelled and y.shape[0] != X.shape[0]:
        raise ChainruleError(f"{path}: X has {X.shape[0]} examples but y has {y.shape[0]}; they must match")
    # records are numbered from 1 in errors ("line" k means example k)
    X = check_features(X, str(path))
    if not labelled:
        y = None
    elif y is not None:
        if y.dtype.kind not in "biuf":
            raise ChainruleError(f"{path}: y has dtype {y.dtype}; expected numbers")
        y = check_targets(y, task, str(path))
    return Dataset(X, y, task, str(path))
