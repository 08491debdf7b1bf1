"""ReLU's relatives, written out as exact formulas of the pre-activation (their parameters as numbers):

    LeakyReLU(s):  z = max(a, 0) + s · min(a, 0)                  ∂z/∂a = 𝟙(a > 0) + s · 𝟙(a ≤ 0)
    ELU(α):        z = max(a, 0) + α · (exp(min(a, 0)) − 1)       ∂z/∂a = 𝟙(a > 0) + α · exp(min(a, 0)) · 𝟙(a ≤ 0)
    GELU:          z = a Φ(a)                                     ∂z/∂a = Φ(a) + a φ(a)   (Φ, φ: normal cdf, pdf)
    SiLU:          z = a σ(a)                                     ∂z/∂a = σ(a) (1 + a (1 − σ(a)))

At a = 0 the one-sided forms take the left side, as the engine (and PyTorch) do. GELU's tanh
approximation is refused by name rather than written with the exact form.
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.doc import Call, Node, Num, Op, Paren, Row, Sym
from chainrule.explain.rules.activations import MAX, SIGMA, STEP, Elementwise
from chainrule.explain.rules.base import LayerContext
from chainrule.nn.module import Module

MIN = Sym("min", r"\min")
EXP = Sym("exp", r"\exp")
PHI = Sym("Φ", r"\Phi")
PDF = Sym("φ", r"\varphi")
LE = Op("≤", r"\le")


def _times(numbers: bool, vector: bool = False) -> tuple:
    """The product sign between factors: ⊙ for vectors, · when numbers are substituted (juxtaposed
    numbers would read as a call), none between symbols."""
    return (Op.HADAMARD,) if vector else ((Op.TIMES,) if numbers else ())


def _pos(arg: Node) -> Node:
    return Call(MAX, Row(arg, Op.COMMA, Num(0)))


def _neg(arg: Node) -> Node:
    return Call(MIN, Row(arg, Op.COMMA, Num(0)))


class _Parametrised(Elementwise):
    """A rectifier whose parameter ``attr`` (read from the layer in the context) enters its formulas."""

    attr = ""
    value: float = 0.0

    def bind(self, ctx: LayerContext) -> None:
        self.value = float(getattr(ctx.step.layer, self.attr))


class LeakyReLURule(_Parametrised):
    kind, attr = "leaky relu", "negative_slope"

    def f(self, arg: Node) -> Node:
        return Row(_pos(arg), Op.PLUS, Num(self.value), Op.TIMES, _neg(arg))

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        pos, neg = Call(STEP, Row(arg, Op.GT, Num(0))), Call(STEP, Row(arg, LE, Num(0)))
        return Row(pos, Op.PLUS, Num(self.value), Op.TIMES, neg)


class ELURule(_Parametrised):
    kind, attr = "elu", "alpha"

    def f(self, arg: Node) -> Node:
        return Row(_pos(arg), Op.PLUS, Num(self.value), Op.TIMES, Paren(Row(Call(EXP, _neg(arg)), Op.MINUS, Num(1))))

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        pos, neg = Call(STEP, Row(arg, Op.GT, Num(0))), Call(STEP, Row(arg, LE, Num(0)))
        t = Op.HADAMARD if vector else Op.TIMES
        return Row(pos, Op.PLUS, Num(self.value), Op.TIMES, Call(EXP, _neg(arg)), t, neg)


class GELURule(Elementwise):
    kind = "gelu"

    def capture(self, layer: Module) -> dict[str, np.ndarray]:
        if getattr(layer, "approximate", "none") != "none":
            raise ChainruleError(
                "layer is GELU(approximate='tanh'): explain writes the exact GELU, a Φ(a); "
                "use GELU() (approximate='none')"
            )
        return super().capture(layer)

    def f(self, arg: Node) -> Node:
        return Row(arg, *_times(isinstance(arg, Num)), Call(PHI, arg))

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        return Row(Call(PHI, arg), Op.PLUS, arg, *_times(numbers, vector), Call(PDF, arg))


class SiLURule(Elementwise):
    kind = "silu"

    def f(self, arg: Node) -> Node:
        return Row(arg, *_times(isinstance(arg, Num)), Call(SIGMA, arg))

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        t = _times(numbers, vector)
        inner = Paren(Row(Num(1), Op.PLUS, arg, *t, Paren(Row(Num(1), Op.MINUS, Call(SIGMA, arg)))))
        return Row(Call(SIGMA, arg), *t, inner)
