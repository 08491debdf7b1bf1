"""Run the engine once on one example and keep what it cached, one ``Step`` per layer.

Every array here is a copy of a value the engine cached during its forward/backward pass (the layers'
inputs and outputs and the gradients between them, each parameter's value and gradient, and whatever a
layer's explanation rule captures: an activation's ∂z/∂a, the cross-entropy's probabilities); nothing is
recomputed. ``Trace.stages`` groups the dense steps the way the recitation does (one Linear layer and the
activation after it), for the renderers of pictures and for ``--wrt``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.passes import Done, Prepared, check_layers, one_pass, prepare
from chainrule.explain.passes import _flat as _flat  # noqa: F401 (kept for callers of the old module)
from chainrule.explain.passes import default_loss as default_loss  # noqa: F401
from chainrule.explain.rules import loss_rule_for, rule_for
from chainrule.nn.activations import Softmax
from chainrule.nn.containers import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss
from chainrule.nn.module import Module


@dataclass
class Param:
    """One parameter of a layer, in PyTorch's layout: its value as the pass used it, ∂ℓ/∂it, and (with
    --check) ∂ℓ/∂it by central finite differences."""

    value: np.ndarray
    grad: np.ndarray
    numeric: np.ndarray | None = None


@dataclass
class Step:
    """What the engine cached at one layer, for one example (the batch axis dropped)."""

    index: int  # position in the (flattened) network, from 0
    layer: Module  # the engine's layer (the explainer's copy, after the pass)
    input: np.ndarray  # the layer's input
    output: np.ndarray  # its output
    grad_input: np.ndarray  # ∂ℓ/∂input
    grad_output: np.ndarray  # ∂ℓ/∂output
    params: dict[str, Param] = field(default_factory=dict)  # "weight", "bias" (PyTorch's names)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # what the layer's rule captured
    fused: bool = False  # a softmax fused into the cross-entropy loss (not a layer of the network)


@dataclass
class Stage:
    """One linear layer (folded weights W : (out, in + 1)) and its activation; vectors are 1-D."""

    number: int  # 1-based position among the linear layers
    activation: str  # tanh | sigmoid | relu | identity | softmax | …
    weights: np.ndarray  # W = [b | weight] : (out, in + 1)
    input: np.ndarray  # u : (in,)   (x for the first stage)
    a: np.ndarray  # pre-activation, u Wᵀ + b : (out,)
    z: np.ndarray  # activation output : (out,)   (= a without activation)
    grad_input: np.ndarray  # ∂ℓ/∂u : (in,)
    grad_a: np.ndarray  # ∂ℓ/∂a : (out,)
    grad_z: np.ndarray  # ∂ℓ/∂z : (out,)
    grad_weights: np.ndarray  # ∂ℓ/∂W : (out, in + 1)
    dzda: np.ndarray | None = None  # the elementwise ∂z/∂a the backward pass multiplied by
    fused: bool = False  # softmax folded into the cross-entropy loss (∂ℓ/∂a = ŷ − y)
    numeric: np.ndarray | None = None  # ∂ℓ/∂W by central finite differences (--check)
    bias: bool = True  # False for Linear(bias=False): column 0 of W is fixed at 0 and has no gradient
    linear: int = 0  # index of the Linear's Step
    act: int | None = None  # index of the activation's Step, if any
    norms: tuple[int, ...] = ()  # indices of the BatchNorm Steps in the stage (before or after its activation)

    @property
    def width(self) -> int:
        return self.a.shape[0]


@dataclass
class Trace:
    x: np.ndarray
    y: np.ndarray  # the target as given (a number, a vector, or a class label)
    target: np.ndarray  # the target as the loss used it (one-hot for a class label) : (K,)
    loss_name: str
    loss: float
    yhat: np.ndarray  # (K,)
    grad_yhat: np.ndarray  # ∂ℓ/∂ŷ : (K,)
    stages: list[Stage] = field(default_factory=list)
    rounded: bool = False
    label: int | None = None  # the class label, when y was given as one
    steps: list[Step] = field(default_factory=list)
    loss_fn: Loss | None = None  # the engine's loss object, after the pass

    def to_dict(self) -> dict:
        """Every value at full precision (floats as Python floats: JSON round-trips them exactly)."""

        def arr(v: Any) -> Any:
            return None if v is None else np.asarray(v, dtype=float).tolist()

        return {
            "x": arr(self.x),
            "y": arr(self.y),
            "target": arr(self.target),
            "loss_name": self.loss_name,
            "round_each_step": self.rounded,
            "yhat": arr(self.yhat),
            "loss": float(self.loss),
            "grad_yhat": arr(self.grad_yhat),
            "layers": [
                {
                    "activation": s.activation,
                    "fused_softmax": s.fused,
                    "weights": arr(s.weights),
                    "input": arr(s.input),
                    "a": arr(s.a),
                    "z": arr(s.z),
                    "grad_a": arr(s.grad_a),
                    "grad_z": arr(s.grad_z),
                    "grad_input": arr(s.grad_input),
                    "grad_weights": arr(s.grad_weights),
                    "dz_da": arr(s.dzda),
                    **({"numeric_grad_weights": arr(s.numeric)} if s.numeric is not None else {}),
                }
                for s in self.stages
            ],
        }


def run(
    net: Module,
    x: object,
    y: object,
    loss: Loss | None = None,
    round_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    check: bool = False,
) -> Trace:
    """One forward and backward pass of ``net`` on the single example ``x`` with target ``y``."""
    p = prepare(net, x, y, loss, check)
    done = one_pass(p, round_fn)
    steps = _steps(p, done, round_fn)
    stages = _stages(steps)
    _check_finite(p.x, done.loss, steps)
    last = steps[-1]
    fused = last.fused
    target = (
        np.asarray(cast(CrossEntropyLoss, p.loss).target)[(0,) if p.batched else ()]
        if fused
        else np.broadcast_to(np.asarray(p.y, dtype=float), last.output.shape)
    )
    return Trace(
        x=np.array(p.x, copy=True),
        y=p.y_given,
        target=np.array(target, dtype=float),
        loss_name=loss_rule_for(p.loss).key,
        loss=done.loss,
        yhat=last.output.copy(),
        grad_yhat=last.grad_output.copy(),
        stages=stages,
        rounded=round_fn is not None,
        label=int(p.y_given) if fused and p.y_given.ndim == 0 else None,
        steps=steps,
        loss_fn=p.loss,
    )


def _steps(p: Prepared, done: Done, round_fn: Callable[[np.ndarray], np.ndarray] | None) -> list[Step]:
    """One record per layer (plus the softmax a cross-entropy loss fused), copied from the engine's caches."""
    net = p.net
    unbatch = (lambda v: v[0]) if p.batched else (lambda v: v)
    steps = []
    for i, layer in enumerate(net.layers):
        grad_in = net.input_grad if i == 0 else net.output_grads[i - 1]
        params = {}
        for name, par in layer.named_parameters():
            value = par.data if round_fn is None else round_fn(par.data)  # as the pass used them
            num = None if p.numeric is None else p.numeric.get(f"{i}.{name}")
            params[name] = Param(value.copy(), par.grad.copy(), num)
        steps.append(
            Step(
                index=i,
                layer=layer,
                input=np.array(unbatch(net.input if i == 0 else net.outputs[i - 1]), copy=True),
                output=np.array(unbatch(net.outputs[i]), copy=True),
                grad_input=np.array(unbatch(grad_in), copy=True),
                grad_output=np.array(unbatch(net.output_grads[i]), copy=True),
                params=params,
                extras={k: unbatch(v) for k, v in _capture(layer, i).items()},
            )
        )
    if p.fused:  # PyTorch's form: the loss takes the logits; the softmax it applies is shown as a step
        top = steps[-1]
        steps.append(
            Step(
                index=len(steps),
                layer=Softmax(),
                input=top.output,
                output=np.array(unbatch(cast(CrossEntropyLoss, p.loss).probs), copy=True),
                grad_input=top.grad_output,
                grad_output=np.array(unbatch(done.grad_probs), copy=True),
                fused=True,
            )
        )
    return steps


def _stages(steps: list[Step]) -> list[Stage]:
    """The recitation's grouping of the dense steps: each Linear and the activation after it."""
    out: list[Stage] = []
    for k, st in enumerate(steps):
        if not isinstance(st.layer, Linear):
            continue
        members = _members(steps, k)
        norms = tuple(m.index for m in members if rule_for(m.layer, m.index).normalises)
        act = next((m for m in members if not rule_for(m.layer, m.index).normalises), None)
        lin = st.layer
        w, b = st.params["weight"], st.params.get("bias")
        bias_v = b.value if b is not None else np.zeros(w.value.shape[0], w.value.dtype)
        bias_g = b.grad if b is not None else np.zeros(w.value.shape[0], w.grad.dtype)
        numeric = None
        if w.numeric is not None:
            bn = b.numeric if b is not None else np.zeros(w.value.shape[0])
            assert bn is not None  # --check gives every parameter its finite differences
            numeric = np.concatenate([bn[:, None], w.numeric], axis=1)
        out.append(
            Stage(
                number=len(out) + 1,
                activation="identity" if act is None else rule_for(act.layer, act.index).kind,
                weights=np.concatenate([bias_v[:, None], w.value], axis=1),
                input=st.input,
                a=st.output,
                z=st.output if act is None else act.output,
                grad_input=st.grad_input,
                grad_a=st.grad_output,
                grad_z=st.grad_output if act is None else act.grad_output,
                grad_weights=np.concatenate([bias_g[:, None], w.grad], axis=1),
                dzda=None if act is None else act.extras.get("dzda"),
                fused=act is not None and act.fused,
                numeric=numeric,
                bias=lin.bias is not None,
                linear=st.index,
                act=None if act is None else act.index,
                norms=norms,
            )
        )
    return out


def _members(steps: list[Step], k: int) -> list[Step]:
    """The steps after Linear step k that join its stage: its activation and any BatchNorm around it."""
    out = []
    for st in steps[k + 1 :]:
        if rule_for(st.layer, st.index).opens_section:
            break
        out.append(st)
    return out


def _check_finite(x: np.ndarray, loss: float, steps: list[Step]) -> None:
    """A worked solution full of inf and nan explains nothing: say where the pass left float range."""
    if not np.all(np.isfinite(x)):
        raise ChainruleError("x contains NaN or infinity")
    for s in steps:
        for name, par in s.params.items():
            if not np.all(np.isfinite(par.value)):
                raise ChainruleError(
                    f"the {name} of layer {s.index} ({type(s.layer).__name__}) contains NaN or infinity"
                )
    where = [(f"the output of layer {s.index} ({type(s.layer).__name__})", s.output) for s in steps]
    where += [("the loss", np.asarray(loss))]
    for s in reversed(steps):
        what = f"the gradient at layer {s.index} ({type(s.layer).__name__})"
        where += [(what, s.grad_output), (what, s.grad_input)] + [(what, par.grad) for par in s.params.values()]
    for what, v in where:
        if not np.all(np.isfinite(v)):
            raise ChainruleError(
                f"{what} overflows float{8 * np.asarray(v).dtype.itemsize} (it is "
                f"{np.asarray(v).ravel()[~np.isfinite(np.asarray(v).ravel())][0]}); "
                "use smaller inputs or weights"
            )


def _stages_of(net: Sequential) -> list[tuple[int, int | None]]:
    """(index of each Linear, index of the activation after it or None), after ``check_layers``: the
    recitation's dense stages of a network (kept for callers of the old module)."""
    check_layers(net)
    out: list[tuple[int, int | None]] = []
    for i, layer in enumerate(net.layers):
        if rule_for(layer, i).normalises:  # these stages are Linear + activation only (chainrule check's replay)
            raise ChainruleError(
                f"layer {i} is {type(layer).__name__}: this works on Linear layers and activations only "
                "(chainrule explain writes batch normalisation)"
            )
        if isinstance(layer, Linear):
            out.append((i, None))
        elif out and out[-1][1] is None and not rule_for(layer, i).opens_section:
            out[-1] = (out[-1][0], i)
    if not out:
        raise ChainruleError("the network has no Linear layer to explain")
    return out


def _capture(layer: Module, i: int) -> dict[str, np.ndarray]:
    """The layer's rule's extra caches (copies); a layer whose options the rule cannot write is named."""
    try:
        got = rule_for(layer, i).capture(layer)
    except ChainruleError as e:
        raise ChainruleError(f"layer {i}: {str(e).removeprefix('layer is ')}") from None
    return {k: np.array(v, copy=True) for k, v in got.items()}
