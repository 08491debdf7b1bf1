"""The explainer's one pass of the engine: check what it was given, then run forward and backward once.

``prepare`` turns the network, the example and the loss into a ``Prepared`` (a flat Sequential whose
every layer has an explanation rule, the example as an array, PyTorch's fused softmax + cross-entropy
split off, finite differences if asked); ``one_pass`` runs the engine on it, in hand-calculation mode
when ``round_fn`` is given. Nothing here writes a line of the explanation.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.rules import batchnorm, loss_rule_for, rule_for
from chainrule.nn import rounding
from chainrule.nn.activations import Softmax
from chainrule.nn.batchnorm import BatchNorm1d, _BatchNorm
from chainrule.nn.containers import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss, SquaredError
from chainrule.nn.module import Module


@dataclass
class Prepared:
    net: Sequential
    x: np.ndarray  # one example, without the batch axis
    y: object  # the target as the loss takes it
    y_given: np.ndarray
    loss: Loss
    fused: bool  # softmax + cross-entropy: the network ends in its logits
    batched: bool  # the layers need a batch axis (images): the pass runs on x[None]
    numeric: dict[str, np.ndarray] | None  # "{layer index}.{parameter}" -> finite differences


@dataclass
class Done:
    loss: float
    grad_probs: np.ndarray | None  # ∂ℓ/∂ŷ for the fused softmax's probabilities


def _flat(net: Sequential) -> list[Module]:
    return [m for layer in net.layers for m in (_flat(layer) if isinstance(layer, Sequential) else [layer])]


def default_loss(net: Sequential) -> Loss:
    """Cross-entropy for a softmax output, the recitation's squared error otherwise."""
    return CrossEntropyLoss() if isinstance(net.layers[-1], Softmax) else SquaredError()


def _float64_twin(net: Sequential) -> Sequential:
    """The same network (same weights, exactly) in float64."""

    def f64(cfg: Any) -> Any:
        if isinstance(cfg, dict):
            return {k: ("float64" if k == "dtype" else f64(v)) for k, v in cfg.items()}
        return [f64(v) for v in cfg] if isinstance(cfg, list) else cfg

    twin = Sequential.from_config(f64(net.to_config()))
    assert isinstance(twin, Sequential)  # from a Sequential's config
    twin.load_state_dict({k: v.astype(np.float64) for k, v in net.state_dict().items()})
    return twin


def _batchnorm_where(net: Sequential, i: int, prev: str) -> str:
    """What a BatchNorm at layer i is (the input's, or before/after a Linear's activation), or one error."""
    name = type(net.layers[i]).__name__
    batchnorm.check(net.layers[i], i)
    if i == len(net.layers) - 1:
        raise ChainruleError(
            f"layer {i} is {name}, the network's last layer: explain writes batch normalisation on the input "
            "or inside the network (after a Linear layer, before or after its activation)"
        )
    if i == 0 or prev in ("linear", "act"):
        return "norm input" if i == 0 else ("norm before" if prev == "linear" else "norm after")
    raise ChainruleError(
        f"layer {i} is {name} after layer {i - 1} ({type(net.layers[i - 1]).__name__}): explain writes batch "
        "normalisation on the input or after a Linear layer (before or after its activation)"
    )


def check_layers(net: Sequential) -> None:
    """Every layer has its own rule; an activation follows a layer it belongs to, never another one; a
    BatchNorm sits on the input or in a Linear's stage, before or after its activation (one of each)."""
    if not net.layers:
        raise ChainruleError("the network has no layer to explain")
    prev = "start"  # what layer i − 1 was: linear, act, norm input/before/after, other
    for i, layer in enumerate(net.layers):
        rule = rule_for(layer, i)  # one error naming the layer when explain has no rule for it
        if rule.normalises:
            prev = _batchnorm_where(net, i, prev)
            continue
        if not rule.opens_section:
            if prev in ("start", "norm input"):
                raise ChainruleError(
                    f"layer {i} ({type(layer).__name__}) comes before any Linear layer; "
                    "explain expects Linear layers, each optionally followed by one activation"
                )
            if prev in ("act", "norm after"):
                pair = f"layers {i - 1} and {i}" if prev == "act" else f"layers {i - 2} and {i} (a BatchNorm between)"
                raise ChainruleError(
                    f"{pair} are two activations in a row; "
                    "explain expects at most one activation after each Linear layer"
                )
        prev = "linear" if isinstance(layer, Linear) else ("act" if not rule.opens_section else "other")


def _example(net: Sequential, x: object, y: object) -> tuple[np.ndarray, object, bool]:
    """x as one example (a batch of one, as PyTorch code writes it, loses its batch axis, and its target too)."""
    if x is None or y is None:
        raise ChainruleError(f"explain needs {'an input x' if x is None else 'a target y'} (got None)")
    try:
        xa = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ChainruleError(f"x must be a number or a list of numbers, got {x!r}") from None
    try:
        np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ChainruleError(f"y must be a number or a list of numbers, got {y!r}") from None
    dense = isinstance(net.layers[0], (Linear, BatchNorm1d))
    if xa.ndim == 2 and xa.shape[0] == 1 and dense:
        xa = xa[0]
        y_arr = np.asarray(y)
        if y_arr.ndim >= 1 and y_arr.shape[0] == 1:
            y = y_arr[0]
    if dense and xa.ndim != 1:
        raise ChainruleError(f"explain works on one example: x must be a vector, got shape {xa.shape}")
    if xa.ndim == 0:
        raise ChainruleError(f"explain works on one example: x must be a vector or an image, got {x!r}")
    return xa.astype(net.dtype or np.dtype(np.float64)), y, not dense or has_batchnorm(net)


def has_batchnorm(net: Sequential) -> bool:
    """BatchNorm takes a batch axis (as PyTorch's): a dense pass with one runs on a batch of one."""
    return any(isinstance(m, _BatchNorm) for m in net.layers)


def batch_of_one(y: Any) -> np.ndarray:
    """The target of a batch of one: a class label [y], a vector [y] (as the losses take a batch)."""
    return np.asarray([y]) if np.ndim(y) == 0 else np.asarray(y)[None]


def prepare(net: object, x: object, y: object, loss: Loss | None, check: bool) -> Prepared:
    if not isinstance(net, Sequential):
        raise ChainruleError(f"explain needs a chainrule Sequential network, got {type(net).__name__}")
    if any(isinstance(layer, Sequential) for layer in net.layers):  # nested (e.g. from PyTorch): one flat list
        net = Sequential(*_flat(net))
    if not net.layers:
        raise ChainruleError("the network has no layer to explain")
    loss = default_loss(net) if loss is None else loss
    loss_rule_for(loss)  # one error naming the loss when explain cannot write it
    fused = isinstance(loss, CrossEntropyLoss)
    if fused and isinstance(net.layers[-1], Softmax):
        net = Sequential(*net.layers[:-1])  # PyTorch's fused form: the loss takes the logits
    check_layers(net)
    if fused and not rule_for(net.layers[-1], len(net.layers) - 1).opens_section:
        raise ChainruleError(
            "cross-entropy needs the network to end in a Linear layer (logits) or a softmax; "
            f"it ends in {type(net.layers[-1]).__name__}"
        )
    xa, y, batched = _example(net, x, y)
    y_given = np.asarray(y)
    if fused and y_given.dtype.kind == "f" and y_given.ndim >= 1:
        if np.any(y_given < 0) or not np.allclose(y_given.sum(axis=-1), 1.0):
            raise ChainruleError(
                f"a cross-entropy target list is one-hot or probabilities (each ≥ 0, summing "
                f"to 1; the fused ∂ℓ/∂b = ŷ − y needs that); got {y_given.tolist()}"
            )
    numeric = None
    if check:
        from chainrule.gradcheck import gradcheck

        twin = net if net.dtype in (None, np.float64) else _float64_twin(net)  # finite differences need float64
        xin = xa[None] if batched else xa
        with np.errstate(all="ignore"):  # an overflow is reported after the pass
            numeric = {
                e.name: e.numeric
                for e in gradcheck(twin, xin, batch_of_one(y) if batched else y, loss, check_input=False).entries
            }
    return Prepared(net, xa, y, y_given, loss, fused, batched, numeric)


def one_pass(p: Prepared, round_fn: Callable[[np.ndarray], np.ndarray] | None) -> Done:
    """Forward and backward once; ``round_fn``: the engine rounds every intermediate with it."""

    def go() -> Done:
        net, loss = p.net, p.loss
        net.zero_grad()
        with net.mode(training=False):  # the explainer shows the network as it predicts
            out = net.forward(p.x[None] if p.batched else p.x)
            value = loss.forward(out, batch_of_one(p.y) if p.batched else p.y)  # type: ignore[arg-type]  # y as prepare checked it for this loss
            net.backward(loss.backward())
        return Done(value, loss.grad_probs if isinstance(loss, CrossEntropyLoss) else None)  # fused

    with np.errstate(all="ignore"):  # an overflow is reported after the pass, once, as the user's error
        if round_fn is None:
            return go()
        with rounding.round_each_step(round_fn):
            return go()
