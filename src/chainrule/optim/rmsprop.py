"""RMSprop (https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html).

g ← g + λ p;  s ← α s + (1 − α) g²;  centered: ḡ ← ḡ + (1 − α)(g − ḡ), d = √(s − ḡ²) + ε, else d = √s + ε
momentum μ > 0: b ← μ b + g / d, p ← p − lr · b;   else p ← p − lr · g / d
"""

from collections.abc import Iterable

import numpy as np

from chainrule.nn.module import Parameter
from chainrule.optim.optimizers import Optimizer


class RMSprop(Optimizer):
    _buffers = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = self._check("alpha", alpha, 1.0)
        self.eps, self.weight_decay = self._check("eps", eps), self._check("weight_decay", weight_decay)
        self.momentum, self.centered = self._check("momentum", momentum), bool(centered)
        self.square_avg = [np.zeros_like(p.data) for p in self.params]
        self.grad_avg = [np.zeros_like(p.data) for p in self.params] if centered else []
        self.momentum_buffer = [np.zeros_like(p.data) for p in self.params] if momentum else []
        self._denom = [np.empty_like(p.data) for p in self.params]

    def step(self) -> None:
        a = self.alpha
        for i, (p, s, d) in enumerate(zip(self.params, self.square_avg, self._denom, strict=True)):
            g = self._decayed_grad(i, p)
            assert self._scratch is not None  # made by _decayed_grad
            buf = self._scratch[i]
            s *= a
            np.multiply(g, g, out=d)
            d *= 1 - a
            s += d
            if self.centered:
                ga = self.grad_avg[i]
                np.subtract(g, ga, out=d)
                d *= 1 - a
                ga += d  # lerp towards g
                np.multiply(ga, ga, out=d)
                np.subtract(s, d, out=d)
                np.sqrt(d, out=d)
            else:
                np.sqrt(s, out=d)
            d += self.eps
            np.divide(g, d, out=buf)  # g / d
            if self.momentum:
                b = self.momentum_buffer[i]
                b *= self.momentum
                b += buf
                np.multiply(b, self.lr, out=buf)
            else:
                buf *= self.lr
            p.data -= buf
        self.steps += 1
