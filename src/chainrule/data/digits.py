"""The bundled default: scikit-learn's handwritten digits (1,797 images of 8×8, values 0–16, 10 classes).

The data ships inside scikit-learn, so nothing is downloaded.
"""

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.errors import ChainruleError

SOURCE = "digits (scikit-learn)"


def load_digits() -> Dataset:
    """X : (1797, 1, 8, 8) float64,  y : (1797,) int64."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:
        raise ChainruleError("the bundled digits need scikit-learn: pip install scikit-learn") from None
    d = sk_digits()
    X = np.asarray(d.data, dtype=np.float64).reshape(-1, 1, 8, 8)
    return Dataset(X, np.asarray(d.target, dtype=np.int64), "classification", SOURCE)
