"""clip_grad_norm_: scale every gradient down together when their joint norm exceeds ``max_norm``.

https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html:
    ‖g‖ = ‖(‖g₁‖, ‖g₂‖, …)‖ₚ over the parameters' gradients,  c = max_norm / (‖g‖ + 10⁻⁶),
    g ← g · min(c, 1).
"""

import math
from collections.abc import Iterable

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.module import Parameter


def clip_grad_norm_(parameters: "Iterable[Parameter] | Parameter", max_norm: float, norm_type: float = 2.0) -> float:
    """Clip the gradients in place; returns the total norm before clipping (as PyTorch does)."""
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    if isinstance(max_norm, bool) or not 0 < float(max_norm) < math.inf:
        raise ChainruleError(f"clip_grad_norm_: max_norm must be a finite number > 0, got {max_norm!r}")
    p = float(norm_type)
    if not (p == math.inf or 0 < p < math.inf):
        raise ChainruleError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type!r}")
    if not params:
        return 0.0
    if p == math.inf:
        total = max(float(np.max(np.abs(q.grad))) if q.grad.size else 0.0 for q in params)
    else:
        norms = np.array([np.linalg.norm(q.grad.ravel(), ord=p) for q in params], dtype=np.float64)
        total = float(np.linalg.norm(norms, ord=p))
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:  # multiplying by min(c, 1) = 1 would change no bit: skip it
        for q in params:
            q.grad *= coef
    return total
