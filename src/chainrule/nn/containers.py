"""Sequential: layers applied in order, gradients passed back in reverse."""

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from chainrule.errors import ChainruleError
from chainrule.nn import rounding
from chainrule.nn.module import Module


class Sequential(Module):
    """net(x) = layer_k(… layer_1(x)); ``backward(∂ℓ/∂y)`` returns ∂ℓ/∂x and fills every ``.grad``.

    Parameter names are PyTorch's: ``"0.weight"``, ``"0.bias"``, ``"2.weight"`` …
    After a pass, ``outputs[i]`` is what layer i returned and ``output_grads[i]`` is ∂ℓ/∂(that output):
    the a, z, ∂ℓ/∂a, ∂ℓ/∂z an explanation prints.
    """

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ChainruleError(f"Sequential entry {i} is {type(layer).__name__}, not a layer")
        self.layers = list(layers)
        self._unshare()
        dtypes = {str(layer.dtype) for layer in self.layers if layer.dtype is not None}
        if len(dtypes) > 1:
            raise ChainruleError(f"layers of one network must share a dtype; got {', '.join(sorted(dtypes))}")

    def _unshare(self) -> None:
        """Each position gets its own layer object: a layer keeps one cache, so an object used twice
        would backpropagate through its second use's values at both places. A parameter-free layer
        used again (``act = ReLU(); Sequential(l1, act, l2, act)``, common in PyTorch code) is copied;
        a layer with parameters would mean tied weights, which chainrule does not do.
        """
        import copy

        seen: dict[int, int] = {}
        for i, layer in enumerate(self.layers):
            j = seen.setdefault(id(layer), i)
            if j == i:
                continue
            if layer.parameters():
                raise ChainruleError(
                    f"Sequential entries {j} and {i} are the same {type(layer).__name__} object; "
                    "shared (tied) weights are not supported: give each position its own layer"
                )
            self.layers[i] = copy.copy(layer)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(int(s) for s in input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def forward(self, x: ArrayLike) -> np.ndarray:
        return self.forward_unchecked(self._check_input(x))

    def defer_zero_grad(self) -> None:
        """Zero every gradient before the next backward: layers that can (``Linear``) write their next
        gradients instead of adding them; the others' gradients are zeroed now.

        Called every training step, so the split is worked out once per list of layers.
        """
        key = tuple(map(id, self.layers))
        if getattr(self, "_zero_plan_key", None) != key:
            self._zero_plan_key = key
            self._zero_plan = (
                [layer.defer_zero_grad for layer in self.layers if hasattr(layer, "defer_zero_grad")],
                [p for layer in self.layers if not hasattr(layer, "defer_zero_grad") for p in layer.parameters()],
            )
        deferred, eager = self._zero_plan
        for defer in deferred:
            defer()
        for p in eager:
            p.grad.fill(0)

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def forward_unchecked(self, x: np.ndarray) -> np.ndarray:
        """``forward`` for input already known to be a finite array of the network's dtype.

        The training loop checks its data once, then calls this every step: the per-call input check
        costs about as much as a layer does at batch size 1.
        """
        x = self.input = rounding.apply(x)
        outputs: list[np.ndarray] = []
        self.outputs = outputs
        for layer in self.layers:
            # a rounded copy is handed on; the layer keeps its exact output, so tanh's ∂z/∂a is
            # 1 − tanh²(a) of the a it was given, as the recitation writes it (not 1 − z² of a rounded z)
            x = rounding.apply(layer.forward(x))
            outputs.append(x)
        return x

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:  # type: ignore[override]
        """∂ℓ/∂x, after filling every parameter's gradient from dy = ∂ℓ/∂(network output).

        ``input_grad=False`` (training) lets a first layer that can skip ∂ℓ/∂x do so (``Linear``:
        one matrix-vector product fewer per step) and returns None.
        """
        outputs = getattr(self, "outputs", None)
        if outputs is None:
            raise ChainruleError("backward() was called before forward(): run the network on an input first")
        if outputs and np.shape(dy) != outputs[-1].shape:
            raise ChainruleError(
                f"the gradient passed to backward() has shape {np.shape(dy)}; the network's last "
                f"output has shape {outputs[-1].shape}"
            )
        layers = self.layers
        grads: list[np.ndarray | None] = [None] * len(layers)
        self.output_grads = grads
        for i in range(len(layers) - 1, 0, -1):
            grads[i] = dy
            dy = rounding.apply(layers[i].backward(dy))
        if not layers:
            self.input_grad: np.ndarray | None = dy
            return dy
        grads[0] = dy
        first = layers[0]
        dx: np.ndarray | None = None  # None: the first layer skipped ∂ℓ/∂x
        if not input_grad and hasattr(first, "backward_params"):
            first.backward_params(dy)
        else:
            dx = rounding.apply(first.backward(dy))
        self.input_grad = dx
        return dx

    def _input_dtype(self) -> np.dtype:
        """The parameters' dtype (float64 without any), read from the first parameter, found once per
        list of layers: walking every parameter on each call cost a batch-1 step more than a layer."""
        key = tuple(map(id, self.layers))
        cached = getattr(self, "_first_param", None)  # (key, parameter): a bare Parameter attribute would be one
        if cached is None or cached[0] != key:
            cached = self._first_param = (key, next(iter(self.parameters()), None))
        p = cached[1]
        return p.data.dtype if p is not None else (self.dtype or np.dtype(np.float64))

    def _check_input(self, x: ArrayLike) -> np.ndarray:
        dt = self._input_dtype()
        if not isinstance(x, np.ndarray) or x.dtype != dt:
            try:
                raw = np.asarray(x)
                if raw.dtype.kind not in "biuf":  # None became NaN, complex lost its imaginary part
                    raise TypeError(f"got {type(x).__name__} of dtype {raw.dtype}")
                x = raw.astype(dt)
            except (ValueError, TypeError) as e:
                raise ChainruleError(f"network input must be an array of numbers: {e}") from e
        # one sum instead of isfinite + all: finite values have a finite sum unless it overflows (beyond
        # 1e308, or 3e38 in float32), and then, or for NaN / ∞, the exact check below names the culprit
        if x.size and math.isfinite(np.add.reduce(x, axis=None)):
            return x
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ChainruleError(f"network input contains {x[tuple(bad)]} at index {tuple(int(i) for i in bad)}")
        return x

    def __getitem__(self, i: "int | slice") -> Module:
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def config(self) -> dict:
        return {"layers": [layer.to_config() for layer in self.layers]}

    @classmethod
    def _from_config(cls, cfg: dict) -> "Sequential":
        layers = []
        for i, c in enumerate(cfg["layers"]):
            try:
                layers.append(Module.from_config(c))
            except ChainruleError as e:  # e.g. a layer too large for memory: say which one
                raise ChainruleError(f"layer {i}: {e}") from None
        return cls(*layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
