"""Re-initialise every layer of a network with one named scheme, from an explicit Generator."""

import numpy as np

from chainrule.core import init
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module

# scheme -> weight initialiser (None: each layer's own PyTorch default); biases are zero except under
# "default". Each layer applies it in its reset_parameters (BatchNorm ignores it: γ = 1, β = 0, as PyTorch).
_WEIGHT = {
    "zeros": init.zeros,
    "uniform": init.uniform,  # the course: U(−0.1, 0.1) weights, zero bias
    "xavier_uniform": init.xavier_uniform,
    "xavier_normal": init.xavier_normal,
    "kaiming_uniform": init.kaiming_uniform,
    "kaiming_normal": init.kaiming_normal,
    "default": None,
}
ALIASES = {
    "zero": "zeros",
    "course": "uniform",
    "xavier": "xavier_uniform",
    "glorot": "xavier_uniform",
    "he": "kaiming_uniform",
    "kaiming": "kaiming_uniform",
    "pytorch": "default",
}


def initialize(model: Module, scheme: str, rng: "np.random.Generator | int | None" = None) -> Module:
    """Reset every layer by ``scheme`` through its ``reset_parameters``.

    Layers are visited in order, so the same seed gives the same bytes.
    """
    name = ALIASES.get(scheme, scheme)
    if name not in _WEIGHT:
        raise ChainruleError(
            f"unknown initialisation {scheme!r}; expected one of {', '.join(list(_WEIGHT) + list(ALIASES))}"
        )
    g = init.as_generator(rng)
    for module in model.modules():
        module.reset_parameters(g, _WEIGHT[name])
    return model
