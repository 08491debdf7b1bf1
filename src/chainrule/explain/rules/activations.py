"""The activations' rules: zⱼ = f(aⱼ) forward, ∂zⱼ/∂aⱼ and ∂ℓ/∂aⱼ = ∂ℓ/∂zⱼ ∂zⱼ/∂aⱼ backward.

The derivative factor is written in the recitation's form, from the pre-activation with its value
substituted: ∂z₁/∂a₁ = 1 − tanh²(a₁) = 1 − tanh²(5) = 0.000182 (σ(a)(1 − σ(a)), 𝟙(a > 0) likewise), so it
holds in every mode and never collapses to 0 from a rounded z. The vector form writes the Jacobian as the
recitation's section 3.2 does, diag(1 − tanh²(a)), and then its elementwise product. Softmax is not
elementwise: ∂ℓ/∂aⱼ = zⱼ (∂ℓ/∂zⱼ − Σₖ ∂ℓ/∂zₖ zₖ); fused into the cross-entropy it is ∂ℓ/∂bⱼ = ŷⱼ − yⱼ.
"""

import numpy as np

from chainrule.explain.doc import (
    ELL,
    Call,
    Equations,
    Frac,
    Mat,
    Node,
    Num,
    Op,
    Paren,
    Power,
    Row,
    Sym,
    d,
    joined,
    product,
)
from chainrule.explain.rules.base import Block, LayerContext, Rule
from chainrule.explain.rules.linear import single, stage_of, sum_over, vec, vsym
from chainrule.nn.module import Module

TANH = Sym("tanh", r"\tanh")
TANH2 = Sym("tanh²", r"\tanh^{2}")
SIGMA = Sym("σ", r"\sigma")
STEP = Sym("𝟙", r"\mathbb{1}")
MAX = Sym("max", r"\max")
EXP = Sym("exp", r"\exp")
SOFTMAX = Sym("softmax", r"\operatorname{softmax}")
DIAG = Sym("diag", r"\operatorname{diag}")
DIAG_SHOWN = 5  # a wider layer's Jacobian is written diag(…), not as its full matrix


class ActivationRule(Rule):
    """An activation joins the section of the layer before it; its symbols are that stage's a and z."""

    opens_section = False

    def capture(self, layer: Module) -> dict[str, np.ndarray]:
        dzda = getattr(layer, "dzda", None)
        return {} if dzda is None else {"dzda": dzda}

    @staticmethod
    def merged(ctx: LayerContext) -> bool:
        """The output layer without an activation: b and ŷ are one symbol, and nothing is written."""
        return ctx.in_var is ctx.out_var

    def units(self, ctx: LayerContext) -> range | tuple[int, ...]:
        return ctx.units if ctx.units is not None else range(1, stage_of(ctx).width + 1)


class Elementwise(ActivationRule):
    """z = f(a) elementwise, with ∂z/∂a = f′(a) written from a (``f`` and ``fprime`` per activation)."""

    def bind(self, ctx: LayerContext) -> None:
        """Read the layer's own parameters (a slope, an α) before ``f``/``fprime`` write them."""

    def f(self, arg: Node) -> Node:
        raise NotImplementedError

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        raise NotImplementedError

    def forward(self, ctx: LayerContext) -> list[Block]:
        if self.merged(ctx):
            return []
        self.bind(ctx)
        st, P, Q = stage_of(ctx), ctx.in_var, ctx.out_var
        if ctx.form == "vector":
            return [Equations([(vsym(ctx, Q), self.f(vsym(ctx, P)), vec(ctx, st.z))])]
        return [
            Equations(
                [(Q.el(j), self.f(P.el(j)), self.f(Num(st.a[j - 1])), Num(st.z[j - 1])) for j in range(1, st.width + 1)]
            )
        ]

    def backward(self, ctx: LayerContext) -> list[Block]:
        if self.merged(ctx):
            return []
        self.bind(ctx)
        st, P, Q = stage_of(ctx), ctx.in_var, ctx.out_var
        assert st.dzda is not None  # an activation's stage keeps its ∂z/∂a
        if ctx.form == "vector" and not single(ctx):
            return [Equations(self._vector(ctx))]
        rows: list[tuple] = []
        for j in self.units(ctx) if ctx.form == "scalar" else (1,):
            q, p, dz = Q.el(j), P.el(j), Num(st.dzda[j - 1])
            rows.append((d(q, p), self.fprime(p), self.fprime(Num(st.a[j - 1]), numbers=True), dz))
            rows.append((d(ELL, p), Row(d(ELL, q), d(q, p)), product(Num(st.grad_z[j - 1]), dz), Num(st.grad_a[j - 1])))
        return [Equations(rows)]

    def _vector(self, ctx: LayerContext) -> list[tuple]:
        st, P, Q = stage_of(ctx), ctx.in_var.vec(), ctx.out_var.vec()
        assert st.dzda is not None
        a = Mat(st.a[:, None]) if ctx.layout == "column" else Mat(st.a)
        jac = Mat(np.diag(st.dzda)) if st.width <= DIAG_SHOWN else Call(DIAG, Mat(st.dzda))
        sym = self.fprime(P, vector=True)
        wrapped = Paren(sym) if isinstance(sym, Row) else sym
        chain = Row(d(Q, P), d(ELL, Q)) if ctx.layout == "column" else Row(d(ELL, Q), d(Q, P))
        return [
            (d(Q, P), Call(DIAG, sym), Call(DIAG, self.fprime(a, numbers=True, vector=True)), jac),
            (
                d(ELL, P),
                chain,
                Row(d(ELL, Q), Op.HADAMARD, wrapped),
                Row(vec(ctx, st.grad_z), Op.HADAMARD, vec(ctx, st.dzda)),
                vec(ctx, st.grad_a),
            ),
        ]

    def factor(self, ctx: LayerContext, j: int, i: int) -> tuple[Node, Node] | None:
        self.bind(ctx)
        st = stage_of(ctx)
        sym, num = self.fprime(ctx.in_var.el(j)), self.fprime(Num(st.a[j - 1]), numbers=True)
        return (Paren(sym), Paren(num)) if isinstance(sym, Row) else (sym, num)


class TanhRule(Elementwise):
    kind = "tanh"

    def f(self, arg: Node) -> Node:
        return Call(TANH, arg)

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        return Row(Num(1), Op.MINUS, Call(TANH2, arg))


class SigmoidRule(Elementwise):
    kind = "sigmoid"

    def f(self, arg: Node) -> Node:
        return Call(SIGMA, arg)

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        rest = Paren(Row(Num(1), Op.MINUS, Call(SIGMA, arg)))
        if vector:
            return Row(Call(SIGMA, arg), Op.HADAMARD, rest)
        return Row(Call(SIGMA, arg), Op.TIMES, rest) if numbers else Row(Call(SIGMA, arg), rest)


class ReLURule(Elementwise):
    kind = "relu"

    def f(self, arg: Node) -> Node:
        return Call(MAX, Row(Num(0), Op.COMMA, arg))

    def fprime(self, arg: Node, numbers: bool = False, vector: bool = False) -> Node:
        return Call(STEP, Row(arg, Op.GT, Num(0)))


class IdentityRule(ActivationRule):
    kind = "identity"

    def forward(self, ctx: LayerContext) -> list[Block]:
        if self.merged(ctx):
            return []
        st, P, Q = stage_of(ctx), ctx.in_var, ctx.out_var
        if ctx.form == "vector":
            return [Equations([(vsym(ctx, Q), vsym(ctx, P), vec(ctx, st.z))])]
        return [Equations([(Q.el(j), P.el(j), Num(st.z[j - 1])) for j in range(1, st.width + 1)])]

    def backward(self, ctx: LayerContext) -> list[Block]:
        if self.merged(ctx):
            return []
        st, P, Q = stage_of(ctx), ctx.in_var, ctx.out_var
        if ctx.form == "vector":
            return [Equations([(d(ELL, vsym(ctx, P)), d(ELL, vsym(ctx, Q)), vec(ctx, st.grad_a))])]
        return [Equations([(d(ELL, P.el(j)), d(ELL, Q.el(j)), Num(st.grad_a[j - 1])) for j in self.units(ctx)])]

    def factor(self, ctx: LayerContext, j: int, i: int) -> tuple[Node, Node] | None:
        return Num(1), Num(1)


class SoftmaxRule(ActivationRule):
    kind = "softmax"

    def forward(self, ctx: LayerContext) -> list[Block]:
        st, P, Q = stage_of(ctx), ctx.in_var, ctx.out_var
        if ctx.form == "vector":
            return [Equations([(vsym(ctx, Q), Call(SOFTMAX, vsym(ctx, P)), vec(ctx, st.z))])]
        den = joined(Op.PLUS, [Call(EXP, Num(v)) for v in st.a])
        rows = [
            (
                Q.el(j),
                Frac(Call(EXP, P.el(j)), Row(sum_over("k"), Call(EXP, P.el("k")))),
                Frac(Call(EXP, Num(st.a[j - 1])), den),
                Num(st.z[j - 1]),
            )
            for j in range(1, st.width + 1)
        ]
        return [Equations(rows)]

    def backward(self, ctx: LayerContext) -> list[Block]:
        st, P, Q, y = stage_of(ctx), ctx.in_var, ctx.out_var, ctx.notation.y
        target = ctx.trace.target
        if ctx.form == "vector":
            Pv, Qv = vsym(ctx, P), vsym(ctx, Q)
            row: tuple
            if st.fused:
                row = (
                    d(ELL, Pv),
                    Row(Qv, Op.MINUS, vsym(ctx, y)),
                    Row(vec(ctx, st.z), Op.MINUS, vec(ctx, target)),
                    vec(ctx, st.grad_a),
                )
            else:
                inner: Node = Paren(Row(d(ELL, Qv), Op.MINUS, Paren(Row(d(ELL, Qv), Op.TIMES, Power(Qv, "T")))))
                row = (d(ELL, Pv), product(Qv, Op.HADAMARD, inner), vec(ctx, st.grad_a))
            return [Equations([row])]
        rows = []
        for j in self.units(ctx):
            q, p = Q.el(j), P.el(j)
            if st.fused:
                rows.append(
                    (
                        d(ELL, p),
                        Row(q, Op.MINUS, y.el(j)),
                        Row(Num(st.z[j - 1]), Op.MINUS, Num(target[j - 1])),
                        Num(st.grad_a[j - 1]),
                    )
                )
                continue
            inner = joined(Op.PLUS, [product(Num(g), Num(v)) for g, v in zip(st.grad_z, st.z, strict=True)])
            rows.append(
                (
                    d(ELL, p),
                    product(q, Paren(Row(d(ELL, q), Op.MINUS, sum_over("k"), d(ELL, Q.el("k")), Q.el("k")))),
                    product(Num(st.z[j - 1]), Paren(Row(Num(st.grad_z[j - 1]), Op.MINUS, Paren(inner)))),
                    Num(st.grad_a[j - 1]),
                )
            )
        return [Equations(rows)]

    def factor(self, ctx: LayerContext, j: int, i: int) -> tuple[Node, Node] | None:
        """Fused with cross-entropy, ∂ℓ/∂bⱼ = ŷⱼ − yⱼ is the chain's first factor; otherwise not one factor."""
        st = stage_of(ctx)
        if not st.fused:
            return None
        sym = Paren(Row(ctx.out_var.el(j), Op.MINUS, ctx.notation.y.el(j)))
        return sym, Paren(Row(Num(st.z[j - 1]), Op.MINUS, Num(ctx.trace.target[j - 1])))
