"""AdamW: Adam with decoupled weight decay (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html).

p ← p (1 − lr λ), then Adam's step on the gradient itself (λ never enters m or v).
"""

from collections.abc import Iterable

import numpy as np

from chainrule.nn.module import Parameter
from chainrule.optim.optimizers import Adam


class AdamW(Adam):
    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decayed_grad(self, i: int, p: Parameter) -> np.ndarray:
        """Decay the weights themselves (first, as PyTorch does) and hand Adam the plain gradient."""
        if self.weight_decay:
            p.data *= 1 - self.lr * self.weight_decay
        return p.grad
