"""Dropout (https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html).

Training: each value is kept with probability 1 − p and scaled by 1/(1 − p) (inverted dropout, so the
expected output equals the input and evaluation needs no rescaling); evaluation: the identity. The mask
comes from the layer's own ``numpy.random.Generator`` (``generator``); its state is part of a training
checkpoint so that a resumed run draws the same masks.
"""

import numpy as np

from chainrule.core import init
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module


class Dropout(Module):
    """x : any shape -> y : the same shape; the last training forward's scaled mask is kept for backward."""

    def __init__(self, p: float = 0.5, rng: "np.random.Generator | int | None" = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p < 1:
            raise ChainruleError(f"Dropout p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        # a Generator given is spawned from, not shared: the caller's stream (e.g. training's shuffle) stays as it was
        self.generator = rng.spawn(1)[0] if isinstance(rng, np.random.Generator) else init.as_generator(rng)
        self.noise: np.ndarray | None = None  # the last mask, 0 or 1/(1 − p), shaped like x; None after an eval forward

    def reset_parameters(self, rng: object = None, weight_init: object = None) -> None:
        """Nothing to initialise (the generator is the caller's to seed: see ``generator``)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training:
            self.noise = None
            return x
        x = np.asarray(x)
        # PyTorch's order: a Bernoulli(1 − p) mask, divided by 1 − p, then multiplied in
        noise = (self.generator.random(x.shape) >= self.p).astype(x.dtype if x.dtype.kind == "f" else np.float64)
        noise /= 1 - self.p
        self.noise = noise
        return x * noise

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy if self.noise is None else dy * self.noise

    def config(self) -> dict:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"
