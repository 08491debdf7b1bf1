"""Grading a dense network's hand calculation: exact values from ``chainrule explain``, mistakes by
running the engine on the mistaken variant (``replay``).

Mistakes (diagnosis name: what the variant is):
- missing-bias: the network with the bias column (x₀ = 1, z₀ = 1) of one layer, or of all, zeroed;
- swapped-indices: α used transposed (αᵢ,ⱼ for αⱼ,ᵢ, square folded matrices), or the value of the
  quantity with its two indices swapped;
- activation-derivative: ∂z/∂a taken as z (tanh(a) for 1 − tanh²(a), σ for σ(1 − σ)) or as another
  activation's derivative of the same z;
- wrong-activation: a layer run with another activation (tanh, sigmoid, relu, identity);
- sign: the backward pass started from y − ŷ;
- missing-half: ℓ = (ŷ − y)² and ∂ℓ/∂ŷ = 2(ŷ − y) (squared error; the engine's MSELoss for one output);
- softmax-gradient: ∂ℓ/∂b = ŷ for softmax with cross-entropy (the − y forgotten);
- wrong-layer: the same quantity of another layer (a⁽¹⁾ for a⁽²⁾, ∂ℓ/∂α for ∂ℓ/∂β …);
- early-rounding: the whole calculation with every intermediate rounded to 0…4 decimals
  (``chainrule explain --round-each-step --decimals N``).
"""

import copy
import re

import numpy as np

from chainrule.check.problem import Problem, values_of
from chainrule.check.replay import Hooks, Network, replay
from chainrule.explain import explain
from chainrule.explain.derive import notation_for
from chainrule.nn.activations import Identity, ReLU, Sigmoid, Tanh
from chainrule.nn.linear import Linear
from chainrule.nn.losses import MSELoss, SquaredError

ACTS = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "identity": Identity}
DERIVATIVES = {"tanh": Tanh.derivative, "sigmoid": Sigmoid.derivative}


class DenseProblem(Problem):
    kind = "dense"

    def __init__(self, net, x, y, loss=None):
        self.explanation = explain(net, x, y, loss)
        self.document = self.explanation.document
        given = {"x", "y"}  # the problem's data, printed in the summary, not something to compute
        self.expected = {q: v for q, v in values_of(self.document).items() if q not in given}
        self.nw = Network(copy.deepcopy(net), x, y, loss)
        self.names = self.nw.names(notation_for(self.explanation.trace))
        self._variants: list[tuple[str, dict[str, float]]] | None = None

    # --- follow-through --------------------------------------------------------------------------
    def recompute(self, qid, given):
        return replay(self.nw, self.names, given).get(qid)

    def depends(self, qid, on, value):
        v = replay(self.nw, self.names, {on: value}).get(qid)
        return v is not None and not np.isclose(v, self.expected.get(qid, v), rtol=1e-12, atol=0)

    # --- mistakes --------------------------------------------------------------------------------
    def variants(self, over: dict[str, float] | None = None) -> list[tuple[str, dict[str, float]]]:
        """(diagnosis, every value under the mistake); with ``over``, from the learner's earlier values."""
        if over:
            return list(self._make_variants(over))
        if self._variants is None:
            self._variants = list(self._make_variants(None)) + self._rounded()
        return self._variants

    def _make_variants(self, over: dict[str, float] | None):
        nw, trace = self.nw, self.explanation.trace

        def run(variant=None, hooks=None) -> dict[str, float]:
            return replay(variant or nw, self.names, over, hooks)

        linears = [li for li, _ in nw.groups]
        # missing-bias: one layer's bias column zeroed, then all of them
        for li in linears:
            yield "missing-bias", run(nw.variant(lambda net, li=li: _zero_bias(net.layers[li])))
        if len(linears) > 1:
            yield "missing-bias", run(nw.variant(lambda net: _zero_biases(net, linears)))
        # swapped-indices: a square folded matrix used transposed
        for li in linears:
            if nw.net.layers[li].folded.shape[0] == nw.net.layers[li].folded.shape[1]:
                yield "swapped-indices", run(nw.variant(lambda net, li=li: _transpose(net.layers[li])))
        # activation-derivative: ∂z/∂a = z, or another activation's derivative of the same z
        for s, (_, ai) in enumerate(nw.groups, start=1):
            act = trace.stages[s - 1].activation
            if ai is None or act not in DERIVATIVES:
                continue
            yield "activation-derivative", run(hooks=Hooks(derivative={s: lambda a: a.z.copy()}))
            for other, fn in DERIVATIVES.items():
                if other != act:
                    yield "activation-derivative", run(hooks=Hooks(derivative={s: lambda a, fn=fn: fn(a)}))
        # early-rounding of the tanh factor: 1 − z² from z rounded to 4 … 0 decimals (explain's hand-rounding
        # mode writes 1 − tanh²(a), as the recitation does, so its own replay no longer makes this mistake)
        for s, (_, ai) in enumerate(nw.groups, start=1):
            if ai is not None and trace.stages[s - 1].activation == "tanh":
                for n in range(4, -1, -1):
                    yield "early-rounding", run(hooks=Hooks(derivative={s: lambda a, n=n: 1 - np.round(a.z, n) ** 2}))
        # wrong-activation: a hidden (or output) activation replaced by another one
        for s, (_, ai) in enumerate(nw.groups, start=1):
            act = trace.stages[s - 1].activation
            if ai is None or act not in ACTS or (s == len(nw.groups) and nw.fused):
                continue
            for other, cls in ACTS.items():
                if other != act:
                    yield "wrong-activation", run(nw.variant(lambda net, ai=ai, cls=cls: _swap(net, ai, cls)))
        # sign: the backward pass from y − ŷ
        yield "sign", run(hooks=Hooks(top=lambda g, yhat, t: -g))
        if isinstance(nw.loss, SquaredError):
            if trace.yhat.shape[0] == 1:
                mse = copy.copy(nw)
                mse.loss = MSELoss()  # (ŷ − y)², ∂ℓ/∂ŷ = 2(ŷ − y): the ½ dropped
                yield "missing-half", run(mse)
            else:
                yield "missing-half", run(hooks=Hooks(top=lambda g, yhat, t: 2 * g, loss_scale=2.0))
        if nw.fused:
            yield "softmax-gradient", run(hooks=Hooks(top=lambda g, yhat, t: yhat.copy()))
        if over is None:
            yield "wrong-layer", self._other_layers()

    def _rounded(self) -> list[tuple[str, dict[str, float]]]:
        """The whole calculation with every intermediate rounded to 4, 3 … 0 decimals (as printed)."""
        nw = self.nw
        return [
            (
                "early-rounding",
                values_of(explain(nw.net, nw.x, nw.y, nw.loss, decimals=n, round_each_step=True).document),
            )
            for n in range(4, -1, -1)
        ]

    def _other_layers(self) -> dict[str, float]:
        """Each quantity's value taken from another layer at the same position (first that exists)."""
        out: dict[str, float] = {}
        by_kind: dict[tuple, list[str]] = {}
        for nm in self.names:
            for kind, qs in (("pre", nm.pre), ("post", nm.post), ("gpre", nm.grad_pre), ("gpost", nm.grad_post)):
                for j, q in enumerate(qs, start=1):
                    by_kind.setdefault((kind, j), []).append(q)
            for (j, i), q in nm.grad_w.items():
                by_kind.setdefault(("gw", j, i), []).append(q)
        for qs in by_kind.values():
            for q in qs:
                for other in qs:
                    if other != q and other in self.expected and q not in out:
                        out[q] = self.expected[other]
        return out

    def mistakes(self, qid, given=None):
        out = [(name, v[qid]) for name, v in self.variants() if qid in v]
        if given:
            out += [(name, v[qid]) for name, v in self.variants(given) if qid in v]
        swapped = _swapped(qid)
        if swapped in self.expected:
            out.insert(len([m for m in out if m[0] == "missing-bias"]), ("swapped-indices", self.expected[swapped]))
        return out


def _swapped(qid: str) -> str:
    m = re.fullmatch(r"(.*\[)(\d+),(\d+)\]", qid)
    return f"{m[1]}{m[3]},{m[2]}]" if m else ""


def _zero_bias(lin: Linear) -> None:
    if lin.bias is not None:
        lin.bias.data[...] = 0.0


def _zero_biases(net, linears: list[int]) -> None:
    for li in linears:
        _zero_bias(net.layers[li])


def _transpose(lin: Linear) -> None:
    lin.folded = lin.folded.T.copy()


def _swap(net, index: int, cls) -> None:
    net.layers[index] = cls()
