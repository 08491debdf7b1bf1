"""Run the engine once on one example and keep what it cached, grouped by linear layer.

A *stage* is one ``Linear`` layer and the activation after it (if any): the recitation's α-layer
(a = x̂ αᵀ, z = tanh a) or β-layer. Every array here is a copy of a value the engine cached during
its forward/backward pass (``Sequential.outputs`` / ``output_grads``, ``Linear.folded`` /
``grad_folded``, ``Activation.dzda``, ``CrossEntropyLoss.probs`` / ``grad_probs``, the loss value);
nothing is recomputed.
"""

from dataclasses import dataclass, field

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.rules import IMAGE_KINDS, rule_for
from chainrule.nn import rounding
from chainrule.nn.activations import Identity, Softmax
from chainrule.nn.containers import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss, MSELoss, SquaredError

LOSS_NAMES = {SquaredError: "squared", MSELoss: "mse", CrossEntropyLoss: "cross-entropy"}


@dataclass
class Stage:
    """One linear layer (folded weights W : (out, in + 1)) and its activation; vectors are 1-D."""

    number: int  # 1-based position among the linear layers
    activation: str  # tanh | sigmoid | relu | identity | softmax | none
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

    def to_dict(self) -> dict:
        """Every value at full precision (floats as Python floats: JSON round-trips them exactly)."""

        def arr(v):
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


def _stages_of(net: Sequential) -> list[tuple[int, int | None]]:
    """(index of the Linear, index of its activation or None) for each stage, or a clear error."""
    out: list[list] = []
    for i, layer in enumerate(net.layers):
        kind = rule_for(layer, i)  # one error naming the layer when explain has no rule for it
        if kind in IMAGE_KINDS:  # written by explain/cnn.py, never as a dense stage's activation
            raise ChainruleError(f"layer {i} is {type(layer).__name__}: the dense derivation takes no image layers")
        if kind == "linear":
            out.append([i, None])
        else:
            if not out:
                raise ChainruleError(
                    f"layer {i} ({type(layer).__name__}) comes before any Linear layer; "
                    "explain expects Linear layers, each optionally followed by one activation"
                )
            if out[-1][1] is not None:
                raise ChainruleError(
                    f"layers {out[-1][1]} and {i} are two activations in a row; "
                    "explain expects at most one activation after each Linear layer"
                )
            out[-1][1] = i
    if not out:
        raise ChainruleError("the network has no Linear layer to explain")
    return [tuple(s) for s in out]


def _float64_twin(net: Sequential) -> Sequential:
    """The same network (same weights, exactly) in float64."""

    def f64(cfg):
        if isinstance(cfg, dict):
            return {k: ("float64" if k == "dtype" else f64(v)) for k, v in cfg.items()}
        return [f64(v) for v in cfg] if isinstance(cfg, list) else cfg

    twin = Sequential.from_config(f64(net.to_config()))
    twin.load_state_dict({k: v.astype(np.float64) for k, v in net.state_dict().items()})
    return twin


def _flat(net: Sequential) -> list:
    return [m for layer in net.layers for m in (_flat(layer) if isinstance(layer, Sequential) else [layer])]


def default_loss(net: Sequential) -> Loss:
    """Cross-entropy for a softmax output, the recitation's squared error otherwise."""
    return CrossEntropyLoss() if isinstance(net.layers[-1], Softmax) else SquaredError()


def run(net: Sequential, x, y, loss: Loss | None = None, round_fn=None, check: bool = False) -> Trace:
    """One forward and backward pass of ``net`` on the single example ``x`` with target ``y``."""
    if not isinstance(net, Sequential):
        raise ChainruleError(f"explain needs a chainrule Sequential network, got {type(net).__name__}")
    if any(isinstance(layer, Sequential) for layer in net.layers):  # nested (e.g. from PyTorch): one flat list
        net = Sequential(*_flat(net))
    loss = default_loss(net) if loss is None else loss
    if type(loss) not in LOSS_NAMES:
        raise ChainruleError(f"explain knows the losses {', '.join(LOSS_NAMES.values())}; got {loss!r}")
    fused = isinstance(loss, CrossEntropyLoss)
    if fused and isinstance(net.layers[-1], Softmax):
        net = Sequential(*net.layers[:-1])  # PyTorch's fused form: the loss takes the logits
    groups = _stages_of(net)
    if fused and groups[-1][1] is not None and not isinstance(net.layers[groups[-1][1]], Softmax):
        raise ChainruleError(
            "cross-entropy needs the network to end in a Linear layer (logits) or a softmax; "
            f"it ends in {type(net.layers[-1]).__name__}"
        )
    if x is None or y is None:
        raise ChainruleError(f"explain needs {'an input x' if x is None else 'a target y'} (got None)")
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ChainruleError(f"x must be a number or a list of numbers, got {x!r}") from None
    try:
        np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ChainruleError(f"y must be a number or a list of numbers, got {y!r}") from None
    if x.ndim == 2 and x.shape[0] == 1:  # a batch of one, as PyTorch code writes it: its target too
        x = x[0]
        y_arr = np.asarray(y)
        if y_arr.ndim >= 1 and y_arr.shape[0] == 1:
            y = y_arr[0]
    if x.ndim != 1:
        raise ChainruleError(f"explain works on one example: x must be a vector, got shape {x.shape}")
    y_given = np.asarray(y)
    dt = net.dtype or np.dtype(np.float64)
    x = x.astype(dt)

    numeric = None
    if check:
        from chainrule.gradcheck import gradcheck

        twin = net if dt == np.float64 else _float64_twin(net)  # finite differences need float64
        with np.errstate(all="ignore"):  # an overflow is reported below
            numeric = {e.name: e.numeric for e in gradcheck(twin, x, y, loss, check_input=False).entries}

    def one_pass():
        net.zero_grad()
        with net.mode(training=False):  # the explainer shows the network as it predicts
            out = net.forward(x)
            value = loss.forward(out, y)
            net.backward(loss.backward())
        grad_probs = loss.grad_probs if fused else None
        return out, value, grad_probs

    if fused and y_given.dtype.kind == "f" and y_given.ndim >= 1:
        if np.any(y_given < 0) or not np.allclose(y_given.sum(axis=-1), 1.0):
            raise ChainruleError(
                f"a cross-entropy target list is one-hot or probabilities (each ≥ 0, summing "
                f"to 1; the fused ∂ℓ/∂b = ŷ − y needs that); got {y_given.tolist()}"
            )
    with np.errstate(all="ignore"):  # an overflow is reported below, once, as the user's error
        if round_fn is not None:
            with rounding.round_each_step(round_fn):
                out, value, grad_probs = one_pass()
        else:
            out, value, grad_probs = one_pass()

    stages = []
    prev_z, prev_gz = net.input, net.input_grad
    for n, (li, ai) in enumerate(groups, start=1):
        lin = net.layers[li]
        a, ga = net.outputs[li], net.output_grads[li]
        last = n == len(groups)
        if ai is not None:
            act = net.layers[ai]
            z, gz, name = net.outputs[ai], net.output_grads[ai], rule_for(act, ai)
            dzda = None if isinstance(act, (Softmax, Identity)) else act.dzda
        elif last and fused:
            z, gz, name, dzda = loss.probs, grad_probs, "softmax", None
        else:
            z, gz, name, dzda = a, ga, "none", None
        stages.append(
            Stage(
                number=n,
                activation=name,
                weights=lin.folded if round_fn is None else round_fn(lin.folded),  # as the pass used them
                input=np.array(prev_z, copy=True),
                a=np.array(a, copy=True),
                z=np.array(z, copy=True),
                grad_input=np.array(prev_gz, copy=True),
                grad_a=np.array(ga, copy=True),
                grad_z=np.array(gz, copy=True),
                grad_weights=lin.grad_folded.copy(),
                dzda=None if dzda is None else np.array(dzda, copy=True),
                fused=last and fused,
                numeric=None if numeric is None else _folded(numeric, li, lin),
                bias=lin.bias is not None,
            )
        )
        prev_z, prev_gz = z, gz
    _check_finite(x, value, stages)
    last = stages[-1]
    label = int(y_given) if fused and y_given.ndim == 0 else None
    target = loss.target if fused else np.broadcast_to(np.asarray(y, dtype=float), last.z.shape)
    return Trace(
        x=np.array(net.input, copy=True),
        y=y_given,
        target=np.array(target, dtype=float),
        loss_name=LOSS_NAMES[type(loss)],
        loss=value,
        yhat=last.z.copy(),
        grad_yhat=last.grad_z.copy(),
        stages=stages,
        rounded=round_fn is not None,
        label=label,
    )


def _check_finite(x: np.ndarray, loss: float, stages: list[Stage]) -> None:
    """A worked solution full of inf and nan explains nothing: say where the pass left float range."""
    if not np.all(np.isfinite(x)):
        raise ChainruleError("x contains NaN or infinity")
    for s in stages:
        if not np.all(np.isfinite(s.weights)):
            raise ChainruleError(f"the weights of linear layer {s.number} contain NaN or infinity")
    where = [(f"the pre-activation of linear layer {s.number}", s.a) for s in stages]
    where += [(f"the output of linear layer {s.number}'s activation", s.z) for s in stages]
    where += [("the loss", np.asarray(loss))]
    where += [
        (f"the gradient at linear layer {s.number}", g)
        for s in reversed(stages)
        for g in (s.grad_z, s.grad_a, s.grad_weights, s.grad_input)
    ]
    for what, v in where:
        if not np.all(np.isfinite(v)):
            raise ChainruleError(
                f"{what} overflows float{8 * np.asarray(v).dtype.itemsize} (it is "
                f"{np.asarray(v).ravel()[~np.isfinite(np.asarray(v).ravel())][0]}); "
                "use smaller inputs or weights"
            )


def _folded(numeric: dict, li: int, lin: Linear) -> np.ndarray:
    w = numeric[f"{li}.weight"]
    b = numeric.get(f"{li}.bias", np.zeros(w.shape[0]))
    return np.concatenate([b[:, None], w], axis=1)
