"""LogSoftmax: z = a − logsumexp(a) along ``dim``; backward dx = dy − softmax(a) Σ dy (Σ along ``dim``).

https://pytorch.org/docs/stable/generated/torch.nn.LogSoftmax.html. Its output is what NLLLoss takes.
"""

import numpy as np

from chainrule.core.functional import log_softmax
from chainrule.errors import ChainruleError
from chainrule.nn.activations import Activation, axis_output_shape


class LogSoftmax(Activation):
    """log softmax along ``dim`` (default the last axis, the classes); caches its output z."""

    def __init__(self, dim: int = -1) -> None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise ChainruleError(f"LogSoftmax: dim must be a whole number (an axis), got {dim!r}")
        self.dim = int(dim)

    def forward(self, a: np.ndarray) -> np.ndarray:
        if not -a.ndim <= self.dim < a.ndim:
            raise ChainruleError(f"LogSoftmax: dim {self.dim} is out of range for an input of shape {a.shape}")
        self.z = log_softmax(a, axis=self.dim)
        return self.z

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return axis_output_shape(self, self.dim, input_shape)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self.z is not None, "backward() before forward()"
        return dy - np.exp(self.z) * np.sum(dy, axis=self.dim, keepdims=True)

    def config(self) -> dict:
        return {"dim": self.dim}
