"""Re-initialise every layer of a network with one named scheme, from an explicit Generator."""

import numpy as np

from chainrule.core import init
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module

# scheme -> weight initialiser; biases are zero except under "default" (PyTorch's own)
_WEIGHT = {
    "zeros": init.zeros,
    "uniform": init.uniform,  # the course: U(−0.1, 0.1) weights, zero bias
    "xavier_uniform": init.xavier_uniform,
    "xavier_normal": init.xavier_normal,
    "kaiming_uniform": init.kaiming_uniform,
    "kaiming_normal": init.kaiming_normal,
    "default": init.default_weight,
}
ALIASES = {"zero": "zeros", "course": "uniform", "xavier": "xavier_uniform", "glorot": "xavier_uniform",
           "he": "kaiming_uniform", "kaiming": "kaiming_uniform", "pytorch": "default"}


def initialize(model: Module, scheme: str, rng: "np.random.Generator | int | None" = None) -> Module:
    """Set every layer's ``weight`` by ``scheme`` and its ``bias`` to 0 (PyTorch's rule under "default").

    Layers are visited in order, so the same seed gives the same bytes.
    """
    name = ALIASES.get(scheme, scheme)
    if name not in _WEIGHT:
        raise ChainruleError(f"unknown initialisation {scheme!r}; expected one of "
                             f"{', '.join(list(_WEIGHT) + list(ALIASES))}")
    g = init.as_generator(rng)
    for module in _leaves(model):
        w = getattr(module, "weight", None)
        if w is None:
            continue
        w.data[...] = _WEIGHT[name](w.data.shape, rng=g, dtype=w.data.dtype)
        b = getattr(module, "bias", None)
        if b is not None:
            if name == "default":
                b.data[...] = init.default_bias(b.data.shape, init.fans(w.data.shape)[0], g, b.data.dtype)
            else:
                b.data.fill(0)
    return model


def _leaves(model: Module):
    children = list(model.children())
    if not children:
        yield model
    for _, child in children:
        yield from _leaves(child)
