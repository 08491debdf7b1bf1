"""The losses' rules: the loss line ℓ = … and ∂ℓ/∂ŷ, each loss written with its own constant.

squared error (the recitation's)  ℓ = ½ Σₖ (ŷₖ − yₖ)²       ∂ℓ/∂ŷₖ = ŷₖ − yₖ
mean squared error (PyTorch's)     ℓ = 1/K Σₖ (ŷₖ − yₖ)²     ∂ℓ/∂ŷₖ = 2/K (ŷₖ − yₖ)
cross-entropy on a softmax         ℓ = −Σₖ yₖ log ŷₖ         (fused: ∂ℓ/∂bₖ = ŷₖ − yₖ, the softmax's line)
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.doc import (
    ELL,
    HALF,
    Call,
    Equations,
    Frac,
    Mat,
    Node,
    Num,
    Op,
    Paren,
    Power,
    Prose,
    Row,
    Sym,
    d,
    joined,
    product,
)
from chainrule.explain.rules.base import Block, LossContext, LossRule
from chainrule.explain.rules.linear import sum_over
from chainrule.nn.losses import CrossEntropyLoss, Loss

LOG = Sym("log", r"\log")
NEG_LOG = Sym("−log", r"-\log")
K = Sym("K", "K")


def _vec(ctx: LossContext, values: np.ndarray) -> Node:
    if values.shape[0] == 1:
        return Num(values[0])
    return Mat(values[:, None]) if ctx.layout == "column" else Mat(values)


def _units(ctx: LossContext) -> range | tuple[int, ...]:
    return ctx.units if ctx.units is not None else range(1, ctx.trace.yhat.shape[0] + 1)


class _Regression(LossRule):
    """Squared error and MSE: Σₖ (ŷₖ − yₖ)² times a constant; ∂ℓ/∂ŷₖ = (its derivative) (ŷₖ − yₖ)."""

    def constant(self, k: int) -> tuple[Node, Node] | None:
        """(symbol, number) in front of the sum; None for none."""
        raise NotImplementedError

    def slope(self, k: int) -> tuple[Node, Node] | None:
        """(symbol, number) in front of ŷₖ − yₖ in ∂ℓ/∂ŷₖ; None for 1."""
        raise NotImplementedError

    def forward(self, ctx: LossContext) -> list[Block]:
        t, n = ctx.trace, ctx.notation
        yh, y, k = n.yhat, n.y, t.yhat.shape[0]
        if k == 1:
            sym: Node = Power(Row(yh.el(1), Op.MINUS, y.el(1)), "2")
            num: Node = Power(Row(Num(t.yhat[0]), Op.MINUS, Num(t.target[0])), "2")
        else:
            sym = Row(sum_over("k"), Power(Row(yh.el("k"), Op.MINUS, y.el("k")), "2"))
            squares = [Power(Row(Num(a), Op.MINUS, Num(b)), "2") for a, b in zip(t.yhat, t.target, strict=True)]
            num = Paren(joined(Op.PLUS, squares))
        c = self.constant(k)
        if c is None:
            return [Equations([(ELL, sym, num, Num(t.loss))])]
        note = Prose(f"(K = {k} outputs)") if isinstance(c[0], Frac) and c[0].den == K else None
        return [Equations([(ELL, Row(c[0], sym), product(c[1], num), Num(t.loss))], [note])]

    def backward(self, ctx: LossContext) -> list[Block]:
        t, n = ctx.trace, ctx.notation
        k = t.yhat.shape[0]
        s = self.slope(k)
        if ctx.form == "vector":
            yhv = n.yhat.el(1) if k == 1 else n.yhat.vec()
            yv = n.y.el(1) if k == 1 else n.y.vec()
            diff, nums = Row(yhv, Op.MINUS, yv), Row(_vec(ctx, t.yhat), Op.MINUS, _vec(ctx, t.target))
            if s is not None:
                diff, nums = Row(s[0], Paren(diff)), product(s[1], Paren(nums))
            return [Equations([(d(ELL, yhv), diff, nums, _vec(ctx, t.grad_yhat))])]
        rows = []
        for u in _units(ctx):
            diff = Row(n.yhat.el(u), Op.MINUS, n.y.el(u))
            nums = Row(Num(t.yhat[u - 1]), Op.MINUS, Num(t.target[u - 1]))
            if s is not None:
                diff, nums = Row(s[0], Paren(diff)), product(s[1], Paren(nums))
            rows.append((d(ELL, n.yhat.el(u)), diff, nums, Num(t.grad_yhat[u - 1])))
        return [Equations(rows)]

    def factor(self, ctx: LossContext, k: int) -> tuple[Node, Node] | None:
        t, n = ctx.trace, ctx.notation
        sym = Paren(Row(n.yhat.el(k), Op.MINUS, n.y.el(k)))
        num = Paren(Row(Num(t.yhat[k - 1]), Op.MINUS, Num(t.target[k - 1])))
        s = self.slope(t.yhat.shape[0])
        if s is None:
            return sym, num
        return Row(s[0], sym), product(s[1], num)


class SquaredErrorRule(_Regression):
    key, text = "squared", "squared error"

    def constant(self, k: int) -> tuple[Node, Node] | None:
        return HALF, HALF

    def slope(self, k: int) -> tuple[Node, Node] | None:
        return None


class MSERule(_Regression):
    key, text = "mse", "mean squared error"

    def constant(self, k: int) -> tuple[Node, Node] | None:
        return None if k == 1 else (Frac(Num(1), K), Frac(Num(1), Num(k)))

    def slope(self, k: int) -> tuple[Node, Node] | None:
        return (Num(2), Num(2)) if k == 1 else (Frac(Num(2), K), Frac(Num(2), Num(k)))


class CrossEntropyRule(LossRule):
    key, text = "cross-entropy", "cross-entropy"

    def check(self, loss: Loss) -> None:
        assert isinstance(loss, CrossEntropyLoss)
        if loss.weight is not None or loss.label_smoothing:
            raise ChainruleError(f"explain writes cross-entropy without class weights or label smoothing; got {loss!r}")

    def forward(self, ctx: LossContext) -> list[Block]:
        t, n = ctx.trace, ctx.notation
        yh, y = n.yhat, n.y
        sym = Row(Sym("−", "-"), sum_over("k"), y.el("k"), Call(LOG, yh.el("k")))
        if t.label is not None:
            c = t.label + 1
            return [Equations([(ELL, sym, Call(NEG_LOG, yh.el(c)), Call(NEG_LOG, Num(t.yhat[c - 1])), Num(t.loss))])]
        terms = [product(Num(p), Call(LOG, Num(q))) for p, q in zip(t.target, t.yhat, strict=True)]
        return [Equations([(ELL, sym, Row(Sym("−", "-"), Paren(joined(Op.PLUS, terms))), Num(t.loss))])]

    def backward(self, ctx: LossContext) -> list[Block]:
        if ctx.fused:
            return []
        raise ChainruleError("explain writes cross-entropy on the softmax it is fused with")  # prepare() fuses it
