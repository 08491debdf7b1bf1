"""The Optimizer base and SGD, Adagrad, Adam, with PyTorch's update rules
(https://pytorch.org/docs/stable/optim.html). AdamW and RMSprop are in their own files.

Each updates ``p.data`` in place from ``p.grad``; ``state_dict()`` returns its buffers as arrays so a
checkpoint can resume bit for bit. ``lr`` is a plain attribute: a scheduler (``lr_scheduler``) sets it.
"""

import math
from collections.abc import Iterable

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.module import Parameter


class Optimizer:
    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
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
            raise ChainruleError(
                f"{name} must be ≥ 0" + (f" and < {high:g}" if high < math.inf else " and finite") + f", got {value}"
            )
        return float(value)

    weight_decay: float = 0.0
    _scratch: "list[np.ndarray] | None" = None  # one buffer per parameter, made at the first step

    def _decayed_grad(self, i: int, p: Parameter) -> np.ndarray:
        """g + λ p for parameter ``i``, written into its scratch buffer (``p.grad`` itself when λ = 0).

        The buffers are made once, so a step allocates nothing; ``self._scratch[i]`` is free for the
        caller's own use once it is done with the returned gradient.
        """
        if self._scratch is None:
            self._scratch = [np.empty_like(q.data) for q in self.params]
        if not self.weight_decay:
            return p.grad
        buf = self._scratch[i]
        np.multiply(p.data, self.weight_decay, out=buf)
        buf += p.grad
        return buf

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()  # zeros on the next read; Linear's next backward writes its gradient instead

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

    def __init__(
        self, params: Iterable[Parameter], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr)
        self.momentum, self.weight_decay = self._check("momentum", momentum), self._check("weight_decay", weight_decay)
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else []

    def step(self) -> None:
        lr, mu = self.lr, self.momentum
        first = self.steps == 0
        for i, p in enumerate(self.params):
            g = self._decayed_grad(i, p)
            assert self._scratch is not None  # made by _decayed_grad
            buf = self._scratch[i]
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

    def __init__(
        self, params: Iterable[Parameter], lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr)
        self.eps, self.weight_decay = self._check("eps", eps), self._check("weight_decay", weight_decay)
        self.sum_sq = [np.zeros_like(p.data) for p in self.params]
        self._denom = [np.empty_like(p.data) for p in self.params]

    def step(self) -> None:
        for i, (p, G, d) in enumerate(zip(self.params, self.sum_sq, self._denom, strict=True)):
            g = self._decayed_grad(i, p)
            np.multiply(g, g, out=d)
            G += d
            np.sqrt(G, out=d)
            d += self.eps  # √G + ε
            assert self._scratch is not None  # made by _decayed_grad
            buf = self._scratch[i]
            np.multiply(g, self.lr, out=buf)
            buf /= d
            p.data -= buf
        self.steps += 1


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − lr · m̂ / (√v̂ + ε), with bias-corrected m̂, v̂."""

    _buffers = ("m", "v")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = (self._check(f"betas[{i}]", b, 1.0) for i, b in enumerate(betas))
        self.eps, self.weight_decay = self._check("eps", eps), self._check("weight_decay", weight_decay)
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self._tmp = [np.empty_like(p.data) for p in self.params]
        # float64 even for float32 parameters: the denominator and the step have always been computed
        # in float64 there (√c₂ is a NumPy float64), and a resumed run must end bit for bit the same
        self._denom = [np.empty(p.data.shape, np.float64) for p in self.params]

    def step(self) -> None:
        self.steps += 1
        b1, b2, t = self.beta1, self.beta2, self.steps
        c1, c2 = 1 - b1**t, 1 - b2**t
        root_c2, step_size = np.sqrt(c2), self.lr / c1
        for i, (p, m, v, tmp, d) in enumerate(zip(self.params, self.m, self.v, self._tmp, self._denom, strict=True)):
            g = self._decayed_grad(i, p)
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, 1 - b2, out=tmp)
            tmp *= g
            v += tmp
            np.sqrt(v, out=d)
            d /= root_c2
            d += self.eps  # √v̂ + ε
            np.multiply(m, step_size, out=tmp)
            np.divide(tmp, d, out=d)  # lr · m̂ / (√v̂ + ε)
            p.data -= d
