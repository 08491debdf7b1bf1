"""Hand-calculation mode: the engine rounds every intermediate it caches, as a student does on paper.

Inside ``with round_each_step(fn):`` every value a layer or loss hands on — the network input, each
layer's output, each gradient passed back, each activation's derivative factor ∂z/∂a, each weight
gradient, the loss and ∂ℓ/∂ŷ — is replaced by ``fn(value)`` *before* anything downstream uses it.
``fn`` maps an array to an array of the same shape (the explainer passes "the value that is printed"),
so a worked solution printed from these caches is honest arithmetic line by line.

Outside the context ``apply`` is the identity and costs one global lookup.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

_active: Callable[[np.ndarray], np.ndarray] | None = None


def apply(value: np.ndarray) -> np.ndarray:
    """``value`` rounded by the active rounding function (a new array), or ``value`` itself."""
    if _active is None:
        return value
    return np.asarray(_active(np.asarray(value)), dtype=np.asarray(value).dtype)


def apply_inplace(value: np.ndarray) -> np.ndarray:
    """Round ``value`` in place (so every cache holding this very array sees the rounded numbers)."""
    if _active is not None and isinstance(value, np.ndarray):
        value[...] = _active(value)
    return value


def active() -> bool:
    return _active is not None


@contextmanager
def round_each_step(fn: Callable[[np.ndarray], np.ndarray]) -> Iterator[None]:
    """Run the engine with every cached forward value and backward gradient rounded by ``fn``."""
    global _active
    previous, _active = _active, fn
    try:
        yield
    finally:
        _active = previous
