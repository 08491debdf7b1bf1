"""Optimisers with PyTorch's update rules (https://pytorch.org/docs/stable/optim.html).

Each updates ``p.data`` in place from ``p.grad``; ``state_dict()`` returns its buffers as arrays so a
checkpoint can resume bit for bit.
"""

import math

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.module import Parameter


class Optimizer:
    def __init__(self, params, lr: float):
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ChainruleError("the optimiser was given no parameters")
        if not 0 < lr < math.inf:
            raise ChainruleError(f"learning rate must be a finite number > 0, got {lr}")
        self.lr = float(lr)
        self.steps = 0

    @staticmethod
    def _check(name: str, value: float, high: float = math.inf) -> float:
        """``value`` as a float in [0, high), or an error naming the hyperparameter (NaN is refused too)."""
        if not 0 <= value < high:
            raise ChainruleError(f"{name} must be ≥ 0" + (f" and < {high:g}" if high < math.inf else " and finite")
                                 + f", got {value}")
        return float(value)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError

    # buffers are lists of arrays, one per parameter, named in _buffers
    _buffers: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"steps": np.array(self.steps)}
        for name in self._buffers:
            for i, b in enumerate(getattr(self, name)):
                state[f"{name}.{i}"] = b.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.steps = int(np.asarray(state["steps"]).reshape(()))  # a file may store the scalar as (1,)
        for name in self._buffers:
            for i, b in enumerate(getattr(self, name)):
                b[...] = state[f"{name}.{i}"]


class SGD(Optimizer):
    """v ← μ v + (g + λ p);  p ← p − lr · v   (plain SGD when μ = 0)."""

    _buffers = ("velocity",)

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = self._check("momentum", momentum), self._check("weight_decay", weight_decay)
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else []
        self._scratch = None

    def step(self) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if self._scratch is None:  # one buffer per parameter: a step allocates nothing
            self._scratch = [np.empty_like(p.data) for p in self.params]
        first = self.steps == 0
        for i, p in enumerate(self.params):
            buf = self._scratch[i]
            if wd:
                np.multiply(p.data, wd, out=buf)
                buf += p.grad  # g + λ p
                g = buf
            else:
                g = p.grad
            if mu:
                v = self.velocity[i]
                if first:  # PyTorch starts the buffer at the first gradient
                    v[...] = g
                else:
                    v *= mu
                    v += g
                g = v
            np.multiply(g, lr, out=buf)
            p.data -= buf
        self.steps += 1


class Adagrad(Optimizer):
    """G ← G + g²;  p ← p − lr · g / (√G + ε)."""

    _buffers = ("sum_sq",)

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.eps, self.weight_decay = self._check("eps", eps), self._check("weight_decay", weight_decay)
        self.sum_sq = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        for p, G in zip(self.params, self.sum_sq, strict=True):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            G += g * g
            p.data -= self.lr * g / (np.sqrt(G) + self.eps)
        self.steps += 1


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − lr · m̂ / (√v̂ + ε), with bias-corrected m̂, v̂."""

    _buffers = ("m", "v")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.beta1, self.beta2 = (self._check(f"betas[{i}]", b, 1.0) for i, b in enumerate(betas))
        self.eps, self.weight_decay = self._check("eps", eps), self._check("weight_decay", weight_decay)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        self.steps += 1
        b1, b2, t = self.beta1, self.beta2, self.steps
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v) / np.sqrt(c2) + self.eps
            p.data -= (self.lr / c1) * m / denom


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adam": Adam}
