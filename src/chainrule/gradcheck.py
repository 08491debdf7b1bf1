"""Central finite differences against the analytic gradients, parameter by parameter.

    ∂ℓ/∂θ_i ≈ (ℓ(θ + ε e_i) − ℓ(θ − ε e_i)) / 2ε

Runs in float64 (float32 differences are too coarse to judge anything).
"""

from dataclasses import dataclass, field

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.losses import Loss
from chainrule.nn.module import Module


@dataclass
class GradComparison:
    """One parameter (or the input): analytic vs numeric gradient of the same shape."""

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    abs_err: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.abs_err = np.abs(self.analytic - self.numeric)

    @property
    def max_abs(self) -> float:
        return float(self.abs_err.max()) if self.abs_err.size else 0.0

    @property
    def rel_err(self) -> np.ndarray:
        """|a − n| / max(|a|, |n|), taken as 0 where both are 0."""
        scale = np.maximum(np.abs(self.analytic), np.abs(self.numeric))
        return np.divide(self.abs_err, scale, out=np.zeros_like(scale), where=scale > 0)

    @property
    def max_rel(self) -> float:
        return float(self.rel_err.max()) if self.abs_err.size else 0.0

    @property
    def worst_index(self) -> tuple[int, ...]:
        if not self.abs_err.size:
            return ()
        return tuple(int(i) for i in np.unravel_index(np.argmax(self.abs_err), self.abs_err.shape))

    def ok(self, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
        return bool(np.all(self.abs_err <= atol + rtol * np.abs(self.numeric)))


@dataclass
class GradCheckReport:
    entries: list[GradComparison]

    def ok(self, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
        return all(e.ok(atol, rtol) for e in self.entries)

    def __getitem__(self, name: str) -> GradComparison:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    def __str__(self) -> str:
        rows = [f"{'tensor':<16} {'shape':<14} {'max abs err':>12} {'max rel err':>12}  worst index"]
        for e in self.entries:
            rows.append(
                f"{e.name:<16} {str(e.analytic.shape):<14} {e.max_abs:12.3e} {e.max_rel:12.3e}  {e.worst_index}"
            )
        return "\n".join(rows)


def gradcheck(
    model: Module, x, y, loss: Loss, eps: float = 1e-6, check_input: bool = True, training: bool = False
) -> GradCheckReport:
    """Compare every parameter's ``.grad`` (and ∂ℓ/∂x) with central differences of ``loss(model(x), y)``.

    The model's gradients are reset first and left holding the analytic gradient of this one loss.
    It runs in eval mode unless ``training`` (then BatchNorm uses batch statistics); either way every
    buffer (running statistics) and mode flag is as it was afterwards.
    """
    with model.mode(training, keep_buffers=True):
        return _gradcheck(model, x, y, loss, eps, check_input)


def _gradcheck(model: Module, x, y, loss: Loss, eps: float, check_input: bool) -> GradCheckReport:
    if not 0 < eps < np.inf:
        raise ChainruleError(f"gradcheck's step eps must be a finite number > 0, got {eps}")
    params = list(model.named_parameters())
    if any(p.data.dtype != np.float64 for _, p in params):
        raise ChainruleError("gradcheck needs a float64 model (build it with dtype=np.float64)")
    x = np.array(x, dtype=np.float64)

    def value() -> float:
        return loss.forward(model.forward(x), y)

    model.zero_grad()
    value()
    dx = model.backward(loss.backward())
    entries = [GradComparison(name, p.grad.copy(), _numeric(p.data, value, eps)) for name, p in params]
    if check_input:
        entries.append(GradComparison("input", np.asarray(dx), _numeric(x, value, eps)))
    # leave the caches and grads as the analytic pass made them
    model.zero_grad()
    value()
    model.backward(loss.backward())
    return GradCheckReport(entries)


def _numeric(array: np.ndarray, value, eps: float) -> np.ndarray:
    """Central differences of value() with respect to each entry of ``array`` (perturbed in place)."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = value()
        flat[i] = old - eps
        minus = value()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad
