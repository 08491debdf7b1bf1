"""The training loop: one epoch of minibatch steps, stoppable between steps, resumable mid-epoch.

An epoch's order is ``rng.permutation(n)`` drawn from the run's Generator at the start of the epoch
(or 0…n−1 without shuffling). A step is: zero the gradients, forward, loss, backward, optimiser step.
With batch size 1 a feature row is fed as a 1-D vector (and its label as a scalar), which avoids the
(1, d) matrix products that cost more than the arithmetic at this size; images stay (1, C, H, W).
"""

import math
from collections.abc import Callable

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.containers import Sequential
from chainrule.nn.losses import Loss
from chainrule.optim import Optimizer

# an epoch's training loss above GROWTH × the lowest before it (the loss before training, or an earlier
# epoch's) is a diverging run: a noisy but healthy run moves by a few times, a diverging one by orders of
# magnitude
GROWTH = 1e4


class Diverged(ChainruleError):
    """The loss became NaN or infinite (or grew by orders of magnitude): the epoch (1-based) and step
    (1-based; 0: over the whole training set at the end of the epoch) where it was seen."""

    def __init__(self, epoch: int, step: int, value: float, what: str = ""):
        self.epoch, self.step, self.value = epoch, step, value
        what = what or f"the loss is {value} at epoch {epoch}, step {step}"
        super().__init__(f"training diverged: {what}; try a smaller --lr")


def check_growth(losses: list[float], epoch: int) -> None:
    """Raise Diverged when the last of ``losses`` (the training loss before training, then at the end
    of each epoch so far; ``epoch`` the 1-based number of the last) exceeds GROWTH × the lowest of the
    ones before it."""
    if len(losses) < 2:
        return
    best, now = min(losses[:-1]), losses[-1]
    if now > GROWTH * best:
        raise Diverged(
            epoch,
            0,
            now,
            f"the training loss grew from {best:.4g} to {now:.4g} at the end of epoch {epoch} "
            f"(more than {GROWTH:,.0f}× its lowest)",
        )


def epoch_order(rng: np.random.Generator, n: int, shuffle: bool) -> np.ndarray:
    """The visiting order of one epoch; draws from ``rng`` only when shuffling."""
    return rng.permutation(n) if shuffle else np.arange(n)


def run_epoch(
    net: Sequential,
    loss: Loss,
    opt: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    epoch: int,
    start_step: int = 0,
    stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Steps ``start_step`` … of one epoch; returns the number of steps done (all of them unless ``stop()``).

    X : (n, *shape), y : (n,) labels or (n, …) targets, order : (n,) example indices.
    """
    n = len(order)
    steps = -(-n // batch_size)
    net.train()
    forward, backward, step, zero = net.forward_unchecked, net.backward, opt.step, net.defer_zero_grad
    # one example as a 1-D row only for feature rows: an image fed as (C, H, W) would lose its batch axis at Flatten
    single = batch_size == 1 and X.ndim == 2
    if single:  # Python ints index and compare faster than NumPy scalars
        order_list = order.tolist()
        labels = y.tolist() if y.ndim == 1 and y.dtype.kind in "iu" else y
    for s in range(start_step, steps):
        if stop():
            return s
        if single:
            i = order_list[s]
            xb, yb = X[i], labels[i]
        else:
            idx = order[s * batch_size : (s + 1) * batch_size]
            xb, yb = X[idx], y[idx]
        zero()
        value = loss.forward(forward(xb), yb)
        if not math.isfinite(value):
            raise Diverged(epoch + 1, s + 1, value)
        backward(loss.backward(), False)  # no ∂ℓ/∂x needed to train
        step()
        if progress is not None:
            progress(s + 1)
    return steps
