"""The bundled default: the UCI handwritten digits (1,797 images of 8×8, values 0–16, 10 classes).

The arrays ship inside the package as ``digits.npz`` (exactly ``sklearn.datasets.load_digits()``'s
``data`` and ``target``, same dtypes and order); attribution and licence in ``digits-LICENSE.txt``.
Nothing is downloaded, and scikit-learn is not needed.
"""

from importlib.resources import files

import numpy as np

from chainrule.data.dataset import Dataset

SOURCE = "digits (bundled UCI optical digits)"
RESOURCE = "digits.npz"


def load_digits() -> Dataset:
    """X : (1797, 1, 8, 8) float64,  y : (1797,) int64."""
    with files("chainrule.data").joinpath(RESOURCE).open("rb") as f, np.load(f) as d:
        X = np.asarray(d["data"], dtype=np.float64).reshape(-1, 1, 8, 8)
        y = np.asarray(d["target"], dtype=np.int64)
    return Dataset(X, y, "classification", SOURCE)
