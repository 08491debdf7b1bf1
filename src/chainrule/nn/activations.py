"""Elementwise activations and softmax. Each caches its *output*, from which its derivative follows.

tanh' = 1 − z²,  σ' = z(1 − z),  relu' = [a > 0],  softmax: dx = z ⊙ (dy − Σ dy ⊙ z).
"""

import numpy as np

from chainrule.core.functional import sigmoid, softmax
from chainrule.errors import ChainruleError
from chainrule.nn import rounding
from chainrule.nn.module import Module


class Activation(Module):
    """A parameter-free layer; ``z`` is the cached output of the last forward.

    ``dzda`` is the derivative factor ∂z/∂a the last backward multiplied by (what an explanation prints).
    """

    z: np.ndarray | None = None
    dzda: np.ndarray | None = None

    def derivative(self) -> np.ndarray:
        """∂z/∂a elementwise, from the cached output (not defined for Softmax)."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.dzda = rounding.apply(self.derivative())
        return dy * self.dzda

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Elementwise (or along one axis): the shape of one example is unchanged."""
        return tuple(input_shape)


class Tanh(Activation):
    def forward(self, a: np.ndarray) -> np.ndarray:
        self.z = np.tanh(a)
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.z is not None, "backward() before forward()"
        d = self.z * self.z
        return np.subtract(1.0, d, out=d)  # 1 − z², without a second temporary


class Sigmoid(Activation):
    def forward(self, a: np.ndarray) -> np.ndarray:
        self.z = sigmoid(a)
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.z is not None, "backward() before forward()"
        d = 1.0 - self.z
        d *= self.z  # z(1 − z), without a second temporary
        return d


class ReLU(Activation):
    """relu(a) = max(a, 0); the derivative at a = 0 is taken as 0, as PyTorch does."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.z = np.maximum(a, 0)
        return self.z

    def derivative(self) -> np.ndarray:
        assert self.z is not None, "backward() before forward()"
        return (self.z > 0).astype(self.z.dtype)


class Identity(Activation):
    def forward(self, a: np.ndarray) -> np.ndarray:
        self.z = a
        return a

    def derivative(self) -> np.ndarray:
        assert self.z is not None, "backward() before forward()"
        return np.ones_like(self.z)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy


class Softmax(Activation):
    """softmax along ``dim`` (default the last axis, the classes)."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.z = softmax(a, axis=self.dim)
        return self.z

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self.z is not None, "backward() before forward()"
        z = rounding.apply(self.z)  # hand-calculation mode: the z that was handed on (and printed)
        return z * (dy - np.sum(dy * z, axis=self.dim, keepdims=True))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return axis_output_shape(self, self.dim, input_shape)

    def config(self) -> dict:
        return {"dim": self.dim}


def axis_output_shape(layer: Module, dim: int, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Unchanged; ``dim`` must be an axis of the batched input (N, *input_shape), as forward needs."""
    if not -(len(input_shape) + 1) <= dim <= len(input_shape):
        shape = "(N, " + ", ".join(map(str, input_shape)) + ")"
        raise ChainruleError(f"{type(layer).__name__}: dim {dim} is out of range for an input of shape {shape}")
    return tuple(input_shape)


ACTIVATIONS = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "identity": Identity, "softmax": Softmax}


def activation(name: str) -> Activation:
    """An activation layer by its lower-case name: tanh, sigmoid, relu, identity, softmax."""
    from chainrule.errors import ChainruleError

    try:
        return ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ChainruleError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}") from None
