"""The Linear layer's rule, in the recitation's folded form: aⱼ = Σᵢ αⱼ,ᵢ xᵢ with x₀ = 1 (column 0 the bias).

Forward: each aⱼ as its sum of products (scalar form) or a = x̂ αᵀ / a = α x̂ (vector form, row or column
layout). Backward: ∂ℓ/∂αⱼ,ᵢ = ∂ℓ/∂aⱼ · xᵢ, and, for the layer below, ∂ℓ/∂xᵢ = Σₖ ∂ℓ/∂aₖ αₖ,ᵢ
(∂ℓ/∂z = ∂ℓ/∂b β̂ in vector form, β̂ the weights without their bias column).
"""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.explain.chain import chain
from chainrule.explain.doc import (
    ELL,
    Equations,
    Mat,
    Node,
    Num,
    Op,
    Power,
    Prose,
    Row,
    Sym,
    d,
    joined,
    product,
)
from chainrule.explain.rules.base import Block, LayerContext, Rule

if TYPE_CHECKING:
    from chainrule.explain.trace import Stage


def sum_over(letter: str) -> Sym:
    sub = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ"}[letter]
    return Sym("Σ" + sub, rf"\sum_{{{letter}}}")


def rel_err(g: float, fd: float) -> float:
    """|g − fd| / (|g| + |fd|): 0 when they agree exactly, at most 1."""
    return 0.0 if g == fd else abs(g - fd) / (abs(g) + abs(fd))


def stage_of(ctx: LayerContext) -> "Stage":
    """The dense stage of ``ctx``; for a layer after a BatchNorm (the activation of Linear → BatchNorm →
    tanh) its a and z are that layer's own input and output (ã, not the Linear's a)."""
    assert ctx.stage is not None
    st = ctx.trace.stages[ctx.stage - 1]
    step = ctx.step
    if st.norms and step.index >= 0 and step.index != st.linear:
        return replace(st, a=step.input, grad_a=step.grad_input, z=step.output, grad_z=step.grad_output)
    return st


def single(ctx: LayerContext) -> bool:
    """The network's one output (ŷ, not a vector): vector-form lines show it as a number."""
    return ctx.stage == len(ctx.trace.stages) and stage_of(ctx).width == 1


def vec(ctx: LayerContext, values: np.ndarray, column: bool | None = None) -> Node:
    """A stage's vector of values: a number for the single output, a row or (column layout) a column."""
    if single(ctx):
        return Num(values[0])
    col = ctx.layout == "column" if column is None else column
    return Mat(np.asarray(values)[:, None]) if col else Mat(values)


def vsym(ctx: LayerContext, var: Any) -> Sym:
    return var.el(1) if single(ctx) else var.vec()


class LinearRule(Rule):
    kind = "linear"

    def title(self, ctx: LayerContext, members: list[LayerContext]) -> str:
        st, s, L = stage_of(ctx), ctx.stage, len(ctx.trace.stages)
        act = "softmax, fused with the cross-entropy loss" if st.fused else st.activation
        if st.norms:  # Linear → BatchNorm → tanh: "(batchnorm, tanh)", in the order the layers run
            act = ", ".join("batchnorm" if m.step.index in st.norms else act for m in members)
        where = "Output layer" if s == L else (f"Hidden layer {s}" if L > 2 else "Hidden layer")
        return f"{where} ({act})"

    def _u(self, ctx: LayerContext, i: int) -> tuple[Sym, float]:
        """(symbol, value) of input i, with i = 0 the constant 1 that multiplies the bias."""
        return ctx.in_var.el(i), (1.0 if i == 0 else float(stage_of(ctx).input[i - 1]))

    # --- forward ----------------------------------------------------------------------------------
    def forward(self, ctx: LayerContext) -> list[Block]:
        assert ctx.stage is not None  # a Linear always belongs to a dense stage
        st, W, P, U = stage_of(ctx), ctx.notation.weight(ctx.stage), ctx.out_var, ctx.in_var
        if ctx.form == "vector":
            uhat = np.concatenate([[1.0], st.input])
            res = vec(ctx, st.a)
            if ctx.layout == "column":
                rows = [
                    (U.hat(), Mat(uhat[:, None])),
                    (vsym(ctx, P), Row(W.vec(), U.hat()), Row(Mat(st.weights), Mat(uhat[:, None])), res),
                ]
            else:
                rows = [
                    (U.hat(), Mat(uhat)),
                    (vsym(ctx, P), Row(U.hat(), Power(W.vec(), "T")), Row(Mat(uhat), Mat(st.weights.T)), res),
                ]
            return [Equations(rows)]
        ix = "i" if ctx.stage == 1 else "j"  # the recitation: Σᵢ α_{j,i} xᵢ, then Σⱼ βⱼ zⱼ
        rows = []
        for j in range(1, st.width + 1):
            terms = [product(Num(st.weights[j - 1, i]), Num(self._u(ctx, i)[1])) for i in range(st.weights.shape[1])]
            rows.append((P.el(j), Row(sum_over(ix), W.el(j, ix), U.el(ix)), joined(Op.PLUS, terms), Num(st.a[j - 1])))
        return [Equations(rows)]

    # --- backward: the weights --------------------------------------------------------------------
    def cells(self, ctx: LayerContext) -> list[tuple[int, int]]:
        st = stage_of(ctx)
        first = 0 if st.bias else 1  # no bias: column 0 is a fixed 0, not a weight with a gradient
        return [(j, i) for j in range(1, st.width + 1) for i in range(first, st.weights.shape[1])]

    def backward(self, ctx: LayerContext) -> list[Block]:
        if ctx.form == "vector":
            return [self._weights_vector(ctx)]
        blocks: list[Block] = [self.weight_rows(ctx, self.cells(ctx))]
        if not stage_of(ctx).bias:
            blocks.append(self.no_bias_note(ctx))
        return blocks

    def weight_rows(self, ctx: LayerContext, cells: list[tuple[int, int]]) -> Equations:
        """∂ℓ/∂Wⱼ,ᵢ = (the chain) = ∂ℓ/∂aⱼ · uᵢ = numbers, for each cell (j, i); with --check, the finite
        difference and the relative error beside each."""
        assert ctx.stage is not None  # a Linear always belongs to a dense stage
        st, W, P = stage_of(ctx), ctx.notation.weight(ctx.stage), ctx.out_var
        rows, notes = [], []
        for j, i in cells:
            w = W.el(j, i)
            usym, uval = self._u(ctx, i)
            p = P.el(j)
            path = chain(ctx.notation, ctx.trace.stages, ctx.stage, j)
            row: list[Node] = [d(ELL, w)]
            if path is not None and len(path) > 1:
                facs = [d(ELL, path[0])] + [d(a, b) for a, b in zip(path, path[1:], strict=False)] + [d(p, w)]
                row.append(Row(*facs))
            else:
                row.append(Row(d(ELL, p), d(p, w)))
            row += [product(d(ELL, p), usym), product(Num(st.grad_a[j - 1]), Num(uval)), Num(st.grad_weights[j - 1, i])]
            rows.append(tuple(row))
            notes.append(
                Prose(
                    "(finite differences: ",
                    Num(st.numeric[j - 1, i]),
                    ", relative error ",
                    Num(rel_err(st.grad_weights[j - 1, i], st.numeric[j - 1, i])),
                    ")",
                )
                if ctx.check and st.numeric is not None
                else None
            )
        return Equations(rows, notes)

    def no_bias_note(self, ctx: LayerContext, vector: bool = False) -> Prose:
        assert ctx.stage is not None  # a Linear always belongs to a dense stage
        W = ctx.notation.weight(ctx.stage).vec()
        if vector:
            return Prose(
                "This layer has no bias (bias=False): column 0 of ",
                W,
                " stays 0, so column 0 of this product is not used (no gradient).",
            )
        return Prose("This layer has no bias (bias=False): column 0 of ", W, " stays 0 and has no gradient.")

    def _weights_vector(self, ctx: LayerContext) -> Equations:
        assert ctx.stage is not None  # a Linear always belongs to a dense stage
        st, P, U, W = stage_of(ctx), ctx.out_var, ctx.in_var, ctx.notation.weight(ctx.stage)
        uhat = np.concatenate([[1.0], st.input])
        grad = st.grad_weights
        if not st.bias:  # the product's column 0 is ∂ℓ/∂a; the engine keeps no gradient for a fixed 0
            grad = grad.copy()
            grad[:, 0] = st.grad_a
        if single(ctx):
            sym = Row(d(ELL, P.el(1)), Power(U.hat(), "T")) if ctx.layout == "column" else Row(d(ELL, P.el(1)), U.hat())
            nums = Row(Num(st.grad_a[0]), Mat(uhat))
        elif ctx.layout == "column":
            sym, nums = Row(d(ELL, P.vec()), Power(U.hat(), "T")), Row(Mat(st.grad_a[:, None]), Mat(uhat))
        else:
            sym, nums = Row(Power(d(ELL, P.vec()), "T"), U.hat()), Row(Mat(st.grad_a[:, None]), Mat(uhat))
        rows: list[tuple] = [(d(ELL, W.vec()), sym, nums, Mat(grad))]
        notes: list[Prose | None] = [None if st.bias else self.no_bias_note(ctx, vector=True)]
        if ctx.check and st.numeric is not None:
            err = np.abs(grad - st.numeric) / np.maximum(np.abs(grad) + np.abs(st.numeric), 1e-300)
            rows.append((Sym("finite differences", r"\text{finite differences}"), Mat(st.numeric)))
            rows.append((Sym("relative error", r"\text{relative error}"), Mat(np.where(grad == st.numeric, 0.0, err))))
        return Equations(rows, notes)

    # --- backward: the input, for the layer below -------------------------------------------------
    def grad_input(self, ctx: LayerContext) -> list[Block]:
        assert ctx.stage is not None  # a Linear always belongs to a dense stage
        st, U, P, W = stage_of(ctx), ctx.in_var, ctx.out_var, ctx.notation.weight(ctx.stage)
        if ctx.form == "vector":
            g = vec(ctx, st.grad_a)
            what = Prose("(", W.hat(), ": ", W.vec(), " without its bias column)")
            gi = Mat(st.grad_input[:, None]) if ctx.layout == "column" else Mat(st.grad_input)
            if ctx.layout == "column" and not single(ctx):
                row = (d(ELL, U.vec()), Row(Power(W.hat(), "T"), d(ELL, P.vec())), Row(Mat(st.weights[:, 1:].T), g), gi)
            elif ctx.layout == "column":
                row = (d(ELL, U.vec()), Row(d(ELL, P.el(1)), Power(W.hat(), "T")), Row(g, Mat(st.weights[:, 1:].T)), gi)
            else:
                row = (d(ELL, U.vec()), Row(d(ELL, vsym(ctx, P)), W.hat()), Row(g, Mat(st.weights[:, 1:])), gi)
            return [Equations([row], [what])]
        units = ctx.units if ctx.units is not None else range(1, st.input.shape[0] + 1)
        rows = []
        for j in units:
            q = U.el(j)
            if st.width == 1:
                p2 = P.el(1)
                rows.append(
                    (
                        d(ELL, q),
                        Row(d(ELL, p2), d(p2, q)),
                        product(d(ELL, p2), W.el(1, j)),
                        product(Num(st.grad_a[0]), Num(st.weights[0, j])),
                        Num(st.grad_input[j - 1]),
                    )
                )
            else:
                terms = [product(Num(st.grad_a[k]), Num(st.weights[k, j])) for k in range(st.width)]
                rows.append(
                    (
                        d(ELL, q),
                        Row(sum_over("k"), d(ELL, P.el("k")), d(P.el("k"), q)),
                        Row(sum_over("k"), d(ELL, P.el("k")), W.el("k", j)),
                        joined(Op.PLUS, terms),
                        Num(st.grad_input[j - 1]),
                    )
                )
        return [Equations(rows)]

    def factor(self, ctx: LayerContext, j: int, i: int) -> tuple[Node, Node] | None:
        """∂aⱼ/∂uᵢ = Wⱼ,ᵢ."""
        assert ctx.stage is not None  # a Linear always belongs to a dense stage
        return ctx.notation.weight(ctx.stage).el(j, i), Num(stage_of(ctx).weights[j - 1, i])

    def weight_factor(self, ctx: LayerContext, i: int) -> tuple[Node, Node]:
        """∂aⱼ/∂Wⱼ,ᵢ = uᵢ (u₀ = 1, the bias's input)."""
        usym, uval = self._u(ctx, i)
        return usym, Num(uval)
