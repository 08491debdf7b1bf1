"""The engine's pass again, with some quantities replaced: the learner's own values, or a mistake.

``replay(net, x, y, loss)`` runs the network's own layers one at a time (``Linear.forward`` /
``backward``, the activation's forward and backward, the loss) on one example and returns every
quantity by its qid (``a[1]``, ``dl/dalpha[1,1]`` …, the explainer's names). Between two layers it
can replace values:

- ``over`` — qid -> value: the quantity is taken as given from there on (follow-through: a later value
  recomputed from the learner's own earlier ones);
- ``derivative`` — stage -> function of the activation layer giving ∂z/∂a in place of its own
  (a mistaken derivative, e.g. z for 1 − z²);
- ``top`` — function of (∂ℓ/∂ŷ or fused ∂ℓ/∂b, ŷ, y) giving the gradient the backward pass starts
  from (the sign of ŷ − y flipped, the ½ dropped, softmax's −y forgotten); ``loss_scale`` scales ℓ.
- ``decimals`` — every quantity rounded to that many decimals before anything later uses it, and each
  activation's ∂z/∂a computed from the rounded z (1 − round(z)², round(z)(1 − round(z))): a learner
  who rounds too early (z₁ = tanh(5) written 1, so 1 − z₁² = 0).

With nothing replaced it computes exactly what ``chainrule explain`` prints (a test checks it).
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.explain.doc import ELL, d, qid_of
from chainrule.explain.notation import Notation
from chainrule.explain.trace import _flat, _stages_of, default_loss
from chainrule.nn.activations import Softmax
from chainrule.nn.containers import Sequential
from chainrule.nn.losses import CrossEntropyLoss, Loss


@dataclass
class Hooks:
    derivative: dict[int, Callable] = field(default_factory=dict)
    top: Callable | None = None
    loss_scale: float = 1.0
    decimals: int | None = None


@dataclass
class StageNames:
    """The qids of one stage's quantities, by unit j (1-based) and weight cell (j, i)."""

    pre: list[str]
    post: list[str]
    dzda: list[str]
    grad_pre: list[str]
    grad_post: list[str]
    grad_w: dict[tuple[int, int], str]


def stage_names(n: Notation, s: int, width: int, cols: int) -> StageNames:
    P, Q, W = n.pre(s), n.post(s), n.weight(s)
    js = range(1, width + 1)
    return StageNames(
        pre=[qid_of(P.el(j)) for j in js],
        post=[qid_of(Q.el(j)) for j in js],
        dzda=[qid_of(d(Q.el(j), P.el(j))) for j in js],
        grad_pre=[qid_of(d(ELL, P.el(j))) for j in js],
        grad_post=[qid_of(d(ELL, Q.el(j))) for j in js],
        grad_w={(j, i): qid_of(d(ELL, W.el(j, i))) for j in js for i in range(cols)},
    )


class Network:
    """A network prepared for replays: flat, float64, a fused final softmax removed (as explain does)."""

    def __init__(self, net: Sequential, x, y, loss: Loss | None = None):
        if any(isinstance(layer, Sequential) for layer in net.layers):
            net = Sequential(*_flat(net))
        self.loss = default_loss(net) if loss is None else loss
        self.fused = isinstance(self.loss, CrossEntropyLoss)
        if self.fused and isinstance(net.layers[-1], Softmax):
            net = Sequential(*net.layers[:-1])
        self.net, self.x, self.y = net, np.asarray(x, dtype=float), y
        self.groups = _stages_of(net)

    def names(self, n: Notation) -> list[StageNames]:
        out = []
        for s, (li, _) in enumerate(self.groups, start=1):
            lin: Any = self.net.layers[li]
            out.append(stage_names(n, s, lin.out_features, lin.in_features + 1))
        return out

    def variant(self, edit: Callable[[Sequential], None]) -> "Network":
        """A copy whose network ``edit`` changed (weights zeroed, an activation swapped …)."""
        other = copy.copy(self)
        other.net = copy.deepcopy(self.net)
        edit(other.net)
        other.groups = _stages_of(other.net)
        return other


def replay(
    nw: Network, names: list[StageNames], over: dict[str, float] | None = None, hooks: Hooks | None = None
) -> dict[str, float]:
    over, hooks = over or {}, hooks or Hooks()
    net: Any = copy.deepcopy(nw.net)  # its layers are Linear / activations (checked by _stages_of)
    loss: Any = copy.deepcopy(nw.loss)
    out: dict[str, float] = {}

    def rnd(v):
        return v if hooks.decimals is None else np.round(v, hooks.decimals)

    def take(qids: list[str], values: np.ndarray) -> np.ndarray:
        """Record the engine's values, rounded under ``decimals``, replaced where ``over`` names them (a copy)."""
        v = rnd(np.array(values, dtype=float, copy=True).reshape(-1))
        for k, q in enumerate(qids):
            if q in over:
                v[k] = over[q]
            out[q] = float(v[k])
        return v

    L = len(nw.groups)
    u = nw.x
    with np.errstate(all="ignore"):
        for s, (li, ai) in enumerate(nw.groups, start=1):
            nm = names[s - 1]
            a = take(nm.pre, net.layers[li].forward(u))
            if ai is not None:
                z = take(nm.post, net.layers[ai].forward(a))
            elif s == L and nw.fused:
                z = a
            else:
                z = a
            u = z
        value = rnd(loss.forward(u, nw.y) * hooks.loss_scale)
        out["loss"] = float(over.get("loss", value))
        g = loss.backward()
        if nw.fused:
            probs = take(names[-1].post, loss.probs)
            g = g + (probs - loss.probs)  # a learner's ŷ: ∂ℓ/∂b = ŷ − y from their ŷ
            yhat = probs
        else:
            yhat = u
        if hooks.top is not None:
            g = hooks.top(g, yhat, np.asarray(getattr(loss, "target", nw.y), dtype=float))
        for s in range(L, 0, -1):
            li, ai = nw.groups[s - 1]
            nm = names[s - 1]
            lin = net.layers[li]
            if s == L and nw.fused:
                ga = take(nm.grad_pre, g)
            else:
                gz = take(nm.grad_post, g)
                if ai is None or nm.pre == nm.post:
                    ga = take(nm.grad_pre, gz)
                else:
                    act = net.layers[ai]
                    if s in hooks.derivative:
                        act.derivative = lambda act=act, f=hooks.derivative[s]: f(act)
                    elif hooks.decimals is not None and getattr(act, "z", None) is not None:
                        act.derivative = lambda act=act: _from_rounded_z(act, hooks.decimals)
                    ga = act.backward(gz)
                    if getattr(act, "dzda", None) is not None:
                        dz = take(nm.dzda, act.dzda)
                        mine = [q in over or hooks.decimals is not None for q in nm.dzda]
                        ga = np.where(np.array(mine), gz * dz, ga)  # from the factor as taken
                    ga = take(nm.grad_pre, ga)
            lin.zero_grad()
            g = lin.backward(ga)
            gw = lin.grad_folded
            for (j, i), q in nm.grad_w.items():
                out[q] = float(over.get(q, rnd(gw[j - 1, i])))
    return out


def _from_rounded_z(act: Any, decimals: int) -> np.ndarray:
    """The activation's own ∂z/∂a formula applied to its output rounded to ``decimals``."""
    other = copy.copy(act)
    other.z = np.round(act.z, decimals)
    return type(act).derivative(other)
