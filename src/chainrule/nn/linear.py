"""Linear (fully connected) layer: y = x Wᵀ + b, PyTorch's layout.

The recitation writes the same layer *folded*: one matrix whose column 0 is the bias and whose other
columns are the weights, applied to x̂ = [1, x]. ``Linear.from_folded(α)`` builds a layer from such a
matrix and ``layer.folded`` / ``layer.grad_folded`` read it back.
"""

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from chainrule.core import init, memory
from chainrule.errors import ChainruleError
from chainrule.nn import rounding
from chainrule.nn.module import Module, Parameter, WeightInit, check_dtype


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if len(shape) > 1 else f"length {shape[0]}"


class Linear(Module):
    """y = x Wᵀ + b  (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html)

    weight : (out_features, in_features)      bias : (out_features,)
    x : (in_features,) or (n, in_features)  ->  y : (out_features,) or (n, out_features)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: DTypeLike = np.float64,
        rng: "np.random.Generator | int | None" = None,
    ) -> None:
        if any(isinstance(v, bool) or int(v) != v for v in (in_features, out_features)):
            raise ChainruleError(f"Linear needs whole numbers of features, got {in_features!r} and {out_features!r}")
        if int(in_features) < 1 or int(out_features) < 1:
            raise ChainruleError(
                f"Linear needs in_features ≥ 1 and out_features ≥ 1, got {in_features} and {out_features}"
            )
        self.in_features, self.out_features = int(in_features), int(out_features)
        dt = check_dtype(dtype)
        n = self.out_features * (self.in_features + bool(bias))
        memory.check_parameters(f"Linear({self.in_features}→{self.out_features})", n, dt.itemsize)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dt))
        self.bias = Parameter(np.empty((self.out_features,), dt)) if bias else None
        self.reset_parameters(init.as_generator(rng))
        self._x: np.ndarray | None = None  # forward's input, for backward
        self._overwrite_grads = False

    def reset_parameters(
        self, rng: "np.random.Generator | int | None" = None, weight_init: WeightInit | None = None
    ) -> None:
        init.reset_weight_and_bias(self.weight, self.bias, init.as_generator(rng), weight_init)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape[-1:]) != (self.in_features,):
            raise ChainruleError(
                f"input to Linear({self.in_features}→{self.out_features}) has shape "
                f"{_fmt_shape(input_shape)} per example; it needs {self.in_features} features"
            )
        return (*input_shape[:-1], self.out_features)

    def forward(self, x: np.ndarray) -> np.ndarray:
        W = rounding.apply(self.weight.data)  # hand-calculation mode uses the weights as printed
        if x.shape[-1:] != (self.in_features,):
            raise ChainruleError(
                f"input to Linear({self.in_features}→{self.out_features}) has shape "
                f"{x.shape}: {x.shape[-1] if x.ndim else 0} features per example, "
                f"expected {self.in_features}"
            )
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        self._x = x
        if x.ndim == 2 and len(x) == 1:  # one example as a 1×k matrix (a PyTorch-style loop): the matrix-
            y = (W @ x[0])[None]  # vector product is the same arithmetic, without the GEMM's overhead
        else:
            y = x @ W.T
        if self.bias is not None:
            y += rounding.apply(self.bias.data)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """∂ℓ/∂W += dyᵀ x,  ∂ℓ/∂b += Σₙ dy,  ∂ℓ/∂x = dy W."""
        self.backward_params(dy)
        W = rounding.apply(self.weight.data)
        if dy.ndim == 2 and len(dy) == 1:
            return (dy[0] @ W)[None]
        return dy @ W

    def backward_params(self, dy: np.ndarray) -> None:
        """Only the parameter gradients (a first layer's ∂ℓ/∂x is not needed to train)."""
        x, w, b = self._x, self.weight, self.bias
        assert x is not None, "backward() before forward()"
        if x.ndim == 2 and len(x) == 1:  # one example as a 1×k matrix: the 1-D products below, same numbers
            x, dy = x[0], dy[0]
        zeroed = w.grad_zeroed and (b is None or b.grad_zeroed)  # after zero_grad()
        if self._overwrite_grads or zeroed:  # or defer_zero_grad(): write, as 0 + g would, without extra passes
            self._overwrite_grads = w.grad_zeroed = False
            gW = w.grad_for_writing()  # every element is written below: zero_grad()'s fill is skipped
            gb = None
            if b is not None:
                b.grad_zeroed = False
                gb = b.grad_for_writing()
            if x.ndim == 1:  # one example: a broadcast outer product is cheaper than a 1×k GEMM
                np.multiply(dy[:, None], x, out=gW)
                if gb is not None:
                    gb[...] = dy
            else:
                np.matmul(dy.T, x, out=gW)
                if gb is not None:
                    np.sum(dy, axis=0, out=gb)
            rounding.apply_inplace(gW)  # hand-calculation mode: 0 + round(g), as the adding path does
            return
        gW, gb = w.grad, (b.grad if b is not None else None)
        if x.ndim == 1:
            gW += rounding.apply(dy[:, None] * x)
            if gb is not None:
                gb += dy
        else:
            gW += rounding.apply(dy.T @ x)
            if gb is not None:
                gb += dy.sum(axis=0)

    def defer_zero_grad(self) -> None:
        """Zero the gradients by having the next backward write them instead of adding to them.

        Same result as ``zero_grad()`` followed by backward, one pass over each gradient cheaper (the
        training loop's per-step zeroing). Until that backward, ``.grad`` still holds the old values.
        """
        self._overwrite_grads = True

    def zero_grad(self) -> None:
        self._overwrite_grads = False
        super().zero_grad()

    # --- the recitation's folded form ------------------------------------------------------------
    @classmethod
    def from_folded(cls, matrix: ArrayLike, dtype: DTypeLike = np.float64, bias: bool = True) -> "Linear":
        """A layer whose folded matrix (out, in + 1) is ``matrix``: column 0 the bias, then weights.

        ``bias=False`` makes a layer without bias; column 0 of ``matrix`` must then be all zero.
        """
        m = _as_matrix(matrix, "folded weight matrix")
        if m.shape[1] < 2:
            raise ChainruleError(
                f"folded weight matrix is {_fmt_shape(m.shape)}; it needs at least "
                "2 columns (column 0 is the bias, then one weight per input)"
            )
        layer = cls(m.shape[1] - 1, m.shape[0], bias=bias, dtype=dtype, rng=0)
        layer.folded = m
        return layer

    @property
    def folded(self) -> np.ndarray:
        """[b | W] : (out_features, in_features + 1); column 0 is zero when the layer has no bias."""
        b = self.bias.data if self.bias is not None else np.zeros(self.out_features, self.weight.dtype)
        return np.concatenate([b[:, None], self.weight.data], axis=1)

    @folded.setter
    def folded(self, matrix: ArrayLike) -> None:
        m = _as_matrix(matrix, "folded weight matrix")
        want = (self.out_features, self.in_features + 1)
        if m.shape != want:
            raise ChainruleError(
                f"folded weight matrix for Linear({self.in_features}→{self.out_features}) must be "
                f"{want[0]}×{want[1]} (one row per output; column 0 the bias, then {self.in_features} "
                f"weight(s)), got {_fmt_shape(m.shape)}"
            )
        if self.bias is None and np.any(m[:, 0] != 0):
            raise ChainruleError("this Linear layer has no bias, so column 0 of its folded matrix must be 0")
        self.weight.data[...] = m[:, 1:]
        if self.bias is not None:
            self.bias.data[...] = m[:, 0]

    @property
    def grad_folded(self) -> np.ndarray:
        """[∂ℓ/∂b | ∂ℓ/∂W] : (out_features, in_features + 1), the recitation's ∂ℓ/∂α."""
        gb = self.bias.grad if self.bias is not None else np.zeros(self.out_features, self.weight.dtype)
        return np.concatenate([gb[:, None], self.weight.grad], axis=1)

    def config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _as_matrix(matrix: ArrayLike, what: str) -> np.ndarray:
    """A 2-D float array from nested lists, or a clear error (ragged rows, non-numbers)."""
    try:
        m = np.array(matrix, dtype=np.float64)
    except (ValueError, TypeError) as e:
        raise ChainruleError(f"{what} must be a rectangular matrix of numbers: {e}") from e
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2:
        raise ChainruleError(f"{what} must be 2-D (rows × columns), got {m.ndim}-D shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ChainruleError(f"{what} contains NaN or infinity")
    return m
