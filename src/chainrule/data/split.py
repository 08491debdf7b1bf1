"""Deterministic train/validation split: the same data, fraction and seed always give the same split."""

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.errors import ChainruleError


def train_validation_split(data: Dataset, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """The last ``round(fraction·n)`` examples of a seeded permutation become the validation set.

    The permutation comes from its own ``default_rng(seed)``, independent of training's seed, so
    changing the training seed never changes which examples are held out.
    """
    if not 0 < fraction < 1:
        raise ChainruleError(f"validation fraction must be between 0 and 1 (exclusive), got {fraction}")
    n = len(data)
    n_val = int(round(fraction * n))
    if n_val < 1 or n_val >= n:
        raise ChainruleError(
            f"{data.source}: {n} examples cannot be split with validation fraction {fraction} "
            f"({n_val} validation, {n - n_val} training); both need at least one"
        )
    perm = np.random.default_rng(seed).permutation(n)
    train_idx, val_idx = np.sort(perm[: n - n_val]), np.sort(perm[n - n_val :])
    return (
        data.subset(train_idx, f"{data.source} [train split]"),
        data.subset(val_idx, f"{data.source} [validation split]"),
    )
