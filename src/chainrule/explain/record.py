"""What the engine cached for each layer of one pass: one ``LayerRecord`` per layer, in order.

Read from ``Sequential``'s caches after a forward and backward pass (``input``, ``outputs[i]``,
``output_grads[i]``, ``input_grad``) and each layer's own parameters; nothing is recomputed. A pass of
an image network runs on a batch of one (``batched``): its arrays have the batch axis removed here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.nn.containers import Sequential
from chainrule.nn.module import Module


@dataclass
class Param:
    """One parameter, in PyTorch's layout: its value as the pass used it and ∂ℓ/∂ it."""

    value: np.ndarray
    grad: np.ndarray
    updated: np.ndarray | None = None  # after the optimizer's step (--lr), when one was taken


@dataclass
class LayerRecord:
    """Layer ``index`` (0-based, as PyTorch's ``named_children``) and its values for one example."""

    index: int
    layer: Module
    input: np.ndarray  # what the layer received : e.g. (C, H, W) or (features,)
    output: np.ndarray  # what it returned
    grad_input: np.ndarray | None  # ∂ℓ/∂input (None when nothing below needs it)
    grad_output: np.ndarray  # ∂ℓ/∂output
    params: dict[str, Param] = field(default_factory=dict)  # "weight", "bias"
    dzda: np.ndarray | None = None  # an activation's ∂z/∂a factor, as its backward multiplied by
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # what the layer's rule captured (BatchNorm's x̂)

    @property
    def type(self) -> str:
        return type(self.layer).__name__


def _copy(a: Any) -> np.ndarray | None:
    return None if a is None else np.array(a, copy=True)


def _one(a: Any) -> np.ndarray | None:
    return None if a is None else np.array(a[0], copy=True)  # (1, …) -> (…): the batch of one


def records(net: Sequential, batched: bool = True) -> list[LayerRecord]:
    """One record per layer of ``net`` after a pass on one example (a batch of one when ``batched``)."""
    from chainrule.explain.rules import rule_for  # the rules read records: imported when a pass is recorded

    take: Callable[[Any], Any] = _one if batched else _copy  # after a pass every cache it reads is set
    inputs = [net.input, *net.outputs[:-1]]
    grads_in = [net.input_grad, *net.output_grads[:-1]]  # ∂ℓ/∂(layer i's input)
    out = []
    for i, layer in enumerate(net.layers):
        params = {
            name: Param(np.array(p.data, copy=True), np.array(p.grad, copy=True))
            for name, p in layer.named_parameters()
        }
        out.append(
            LayerRecord(
                index=i,
                layer=layer,
                input=take(inputs[i]),
                output=take(net.outputs[i]),
                grad_input=take(grads_in[i]),
                grad_output=take(net.output_grads[i]),
                params=params,
                dzda=take(getattr(layer, "dzda", None)),
                extras={k: take(v) for k, v in rule_for(layer, i).capture(layer).items()},
            )
        )
    return out
