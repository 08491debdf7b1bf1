"""Batch normalisation over the channel axis (PyTorch's BatchNorm1d and BatchNorm2d).

Training: each channel is normalised by its batch mean μ and *biased* variance σ² (over the batch and
any length/height/width axes), x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β, and the running estimates move
towards μ and the *unbiased* variance (σ² · m/(m − 1), m values per channel): r ← (1 − f) r + f · batch,
f = momentum, or 1/num_batches_tracked when momentum is None (a cumulative average). Evaluation (or
track_running_stats=False never, which always uses batch statistics) normalises by the running estimates.
"""

import numpy as np
from numpy.typing import DTypeLike

from chainrule.core import memory
from chainrule.errors import ChainruleError
from chainrule.nn import rounding
from chainrule.nn.module import Module, Parameter, check_dtype


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; ``_ndims`` are the accepted input ranks (with batch axis)."""

    _ndims: tuple[int, ...] = ()
    _layout = ""
    # buffers made by register_buffer (None without track_running_stats, when the code never reads them)
    running_mean: np.ndarray
    running_var: np.ndarray
    num_batches_tracked: np.ndarray

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: "float | None" = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: DTypeLike = np.float64,
    ) -> None:
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ChainruleError(f"{name} num_features must be a whole number ≥ 1, got {num_features!r}")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < np.inf:
            raise ChainruleError(f"{name} eps must be a number > 0, got {eps!r}")
        if momentum is not None and (
            isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1
        ):
            raise ChainruleError(f"{name} momentum must be a number in [0, 1] or None, got {momentum!r}")
        for flag, value in (("affine", affine), ("track_running_stats", track_running_stats)):
            if not isinstance(value, bool):
                raise ChainruleError(f"{name} {flag} must be true or false, got {value!r}")
        self.num_features, self.eps = int(num_features), float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = check_dtype(dtype)
        self._dtype = dt
        c = self.num_features
        # γ and β with their gradients, the running mean and variance
        memory.check_parameters(f"{name}({c})", c * (2 if affine else 0) + c, dt.itemsize)
        self.weight = Parameter(np.ones(c, dt)) if affine else None
        self.bias = Parameter(np.zeros(c, dt)) if affine else None
        tracked = track_running_stats
        self.register_buffer("running_mean", np.zeros(c, dt) if tracked else None)
        self.register_buffer("running_var", np.ones(c, dt) if tracked else None)
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64) if tracked else None)
        # forward's (x̂, 1/σ, view, axes, batch statistics used) for backward
        self._cache: tuple[np.ndarray, np.ndarray, tuple[int, ...], tuple[int, ...], bool] | None = None

    def reset_parameters(self, rng: object = None, weight_init: object = None) -> None:
        """γ = 1, β = 0 and fresh running statistics, whatever the weight scheme (as PyTorch)."""
        if self.weight is not None and self.bias is not None:  # affine
            self.weight.data.fill(1)
            self.bias.data.fill(0)
        if self.track_running_stats:
            self.running_mean.fill(0)
            self.running_var.fill(1)
            self.num_batches_tracked.fill(0)

    def _check(self, shape: tuple[int, ...], batched: bool) -> None:
        ranks = self._ndims if batched else tuple(n - 1 for n in self._ndims)
        if len(shape) not in ranks or shape[1 if batched else 0] != self.num_features:
            what = "input" if batched else "one example"
            raise ChainruleError(
                f"{what} of {self!r} has shape {tuple(shape)}; it expects {self._layout} "
                f"with {self.num_features} feature(s) (channels)"
            )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(tuple(input_shape), batched=False)
        return tuple(int(s) for s in input_shape)

    def _uses_batch_stats(self) -> bool:
        return self.training or not self.track_running_stats

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : (N, C, *rest) -> y of the same shape."""
        x = np.asarray(x)
        self._check(x.shape, batched=True)
        axes = (0, *range(2, x.ndim))
        view = (1, -1) + (1,) * (x.ndim - 2)  # per-channel values broadcast over (N, C, *rest)
        if self._uses_batch_stats():
            m = x.size // self.num_features  # values per channel
            if m < 2:
                raise ChainruleError(
                    f"{self!r} in training mode needs more than 1 value per channel, got input of shape {x.shape}"
                )
            mean, var = x.mean(axis=axes), x.var(axis=axes)  # var: biased, for normalising
            if self.training and self.track_running_stats:
                self._update_running(mean, var * (m / (m - 1)))
        else:  # hand-calculation mode (explain): the running statistics as printed
            mean, var = rounding.apply(self.running_mean), rounding.apply(self.running_var)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = rounding.apply((x - mean.reshape(view)) * inv_std.reshape(view))  # x̂, as printed by hand
        self._cache = (xhat, inv_std, view, axes, self._uses_batch_stats())
        if self.weight is None or self.bias is None:  # not affine
            return xhat
        gamma, beta = rounding.apply(self.weight.data), rounding.apply(self.bias.data)
        return xhat * gamma.reshape(view) + beta.reshape(view)

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked += 1
        f = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean[...] = (1 - f) * self.running_mean + f * mean
        self.running_var[...] = (1 - f) * self.running_var + f * unbiased_var

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        xhat, inv_std, view, axes, batch_stats = self._cache
        if self.weight is not None and self.bias is not None:  # affine
            self.weight.grad += rounding.apply((dy * xhat).sum(axis=axes))
            self.bias.grad += rounding.apply(dy.sum(axis=axes))
            dxhat = dy * rounding.apply(self.weight.data).reshape(view)
        else:
            dxhat = dy
        if not batch_stats:  # μ and σ² are constants: x̂ is x shifted and scaled
            return dxhat * inv_std.reshape(view)
        # μ and σ² depend on every x of the channel: ∂ℓ/∂x = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) / σ
        mean_d = dxhat.mean(axis=axes).reshape(view)
        mean_dx = (dxhat * xhat).mean(axis=axes).reshape(view)
        return (dxhat - mean_d - xhat * mean_dx) * inv_std.reshape(view)

    def config(self) -> dict:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "dtype": str(self._dtype),
        }

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm1d.html — x : (N, C) or (N, C, L)."""

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html — x : (N, C, H, W)."""

    _ndims = (4,)
    _layout = "(N, C, H, W)"
