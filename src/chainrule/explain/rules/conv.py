"""Conv2d, written out from its record (input X, output Y, weight F, bias B and their gradients).

    Y[o, i, j]   = Σ_c Σ_{u,v} F[o, c, u, v] · X̃[c, i·S + u·D, j·S + v·D] + B[o]      (X̃: X padded with 0)
    ∂ℓ/∂B[o]     = Σ_{i,j} ∂ℓ/∂Y[o, i, j]
    ∂ℓ/∂F[o,c,u,v] = Σ_{i,j} ∂ℓ/∂Y[o, i, j] · X̃[c, i·S + u·D, j·S + v·D]
    ∂ℓ/∂X[c, r, s] = Σ ∂ℓ/∂Y[o, i, j] · F[o, c, u, v]  over i·S + u·D − P = r, j·S + v·D − P = s

The forward sums are grouped as the worksheet writes them (one bracket per kernel row, one per input
channel); every result is the engine's (the layer's output, ``weight.grad``, ``bias.grad``, ∂ℓ/∂x).
"""

from chainrule.errors import ChainruleError
from chainrule.explain.doc import ELL, Equations, Mat, Node, Num, Op, Paren, Prose, Row, d, joined, product
from chainrule.explain.map_names import MapContext, MapVar, first_cells, worked
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules.base import Block, LayerContext, Rule
from chainrule.nn.conv import Conv2d


class _Geometry:
    """Where kernel cell (u, v) of output cell (i, j) falls on the unpadded input (None: padding)."""

    def __init__(self, r: LayerRecord):
        m = r.layer
        assert isinstance(m, Conv2d)  # this rule is Conv2d's only (cnn.IMAGE_RULES, keyed by the exact class)
        self.layer = m
        self.C, self.H, self.W = r.input.shape
        self.O, self.Cg, self.KH, self.KW = r.params["weight"].value.shape
        self.Og = self.O // m.groups
        self.top, _, self.left, _ = m.pads(r.input.shape[1:])
        (self.sh, self.sw), (self.dh, self.dw) = m.stride, m.dilation
        self.OH, self.OW = r.output.shape[1:]

    def at(self, i: int, j: int, u: int, v: int) -> tuple[int, int] | None:
        row, col = i * self.sh + u * self.dh - self.top, j * self.sw + v * self.dw - self.left
        return (row, col) if 0 <= row < self.H and 0 <= col < self.W else None

    def channels(self, o: int) -> range:
        """The input channels output channel o sees (its group's)."""
        g = o // self.Og
        return range(g * self.Cg, (g + 1) * self.Cg)


def given(ctx: MapContext, r: LayerRecord) -> list:
    F, B = ctx.names.kernels[r.index], ctx.names.biases[r.index]
    w = r.params["weight"].value
    rows = [(F.map(o, c), Mat(w[o, c])) for o in range(w.shape[0]) for c in range(w.shape[1])]
    if "bias" in r.params:
        rows.append((B.map(), Mat(r.params["bias"].value)))
    return [Equations(rows)]


def forward(ctx: MapContext, r: LayerRecord) -> list:
    g, names = _Geometry(r), ctx.names
    X, Y, F = names.inp(r.index), names.out(r.index), names.kernels[r.index]
    w, bias = r.params["weight"].value, r.params.get("bias")
    rows = []
    for o, i, j in first_cells(r.output.shape, ctx.cells):
        groups = []
        for ci, c in enumerate(g.channels(o)):
            per_row = []
            for u in range(g.KH):
                terms = []
                for v in range(g.KW):
                    at = g.at(i, j, u, v)
                    terms.append(product(Num(w[o, ci, u, v]), Num(0.0 if at is None else r.input[(c, *at)])))
                per_row.append(Paren(joined(Op.PLUS, terms)))
            group = joined(Op.PLUS, per_row)
            groups.append(Paren(group) if g.Cg > 1 else group)
        rhs = joined(Op.PLUS, groups)
        if bias is not None:
            rhs = Row(rhs, Op.PLUS, Num(bias.value[o]))
        rows.append((Y.el(o, i, j), rhs, Num(r.output[o, i, j])))
    pad = g.top or g.left
    stride = f" (stride {m_str(g.layer.stride)})" if g.layer.stride != (1, 1) else ""
    padded = f"; it is padded with zeros ({m_str(g.layer.pads(r.input.shape[1:]))})" if pad else ""
    intro = Prose(
        "Each cell of ",
        Y.map(),
        " is the kernel ",
        F.map(),
        " times the window of ",
        X.map(),
        " under it, summed"
        + (" over the input channels" if g.Cg > 1 else "")
        + (" plus the bias" if bias is not None else "")
        + stride
        + padded
        + ":",
    )
    return worked(intro, rows, r.output.shape, ctx.cells, "cells", [(Y.map(o), Mat(r.output[o])) for o in range(g.O)])


def m_str(t: tuple[int, ...]) -> str:
    """``2`` for (2, 2), ``2x1`` for (2, 1): a stride or padding as the prose writes it."""
    return "x".join(str(v) for v in t) if len(set(t)) > 1 else str(t[0])


def backward(ctx: MapContext, r: LayerRecord) -> list:
    g, names = _Geometry(r), ctx.names
    X, Y, F, B = names.inp(r.index), names.out(r.index), names.kernels[r.index], names.biases[r.index]
    gy = r.grad_output
    blocks: list = []
    if "bias" in r.params:
        rows = []
        for o in range(g.O):
            terms: list[Node] = [Num(gy[o, i, j]) for i in range(g.OH) for j in range(g.OW)]
            rows.append((d(ELL, B.el(o)), joined(Op.PLUS, terms), Num(r.params["bias"].grad[o])))
        blocks += [Prose("The bias gradient is the sum of ", d(ELL, Y.map()), " over its map:"), Equations(rows)]
    wgrad = r.params["weight"].grad
    rows = []
    for o, ci, u, v in _kernel_cells(wgrad.shape, ctx.cells):
        c = g.channels(o)[ci]
        terms = []
        for i in range(g.OH):
            for j in range(g.OW):
                at = g.at(i, j, u, v)
                terms.append(product(Num(gy[o, i, j]), Num(0.0 if at is None else r.input[(c, *at)])))
        rows.append((d(ELL, F.el(o, ci, u, v)), joined(Op.PLUS, terms), Num(wgrad[o, ci, u, v])))
    intro = Prose(
        "Each kernel gradient ",
        d(ELL, F.map()),
        " is ",
        d(ELL, Y.map()),
        " times the input under that kernel cell, summed over the output cells:",
    )
    full = [(d(ELL, F.map(o, c)), Mat(wgrad[o, c])) for o in range(g.O) for c in range(wgrad.shape[1])]
    blocks += worked(intro, rows, wgrad.shape, ctx.cells, "kernel cells", full)
    if r.index > 0:  # a layer below needs ∂ℓ/∂X
        blocks += input_grad(ctx, r, g, X, Y, F)
    return blocks


def _kernel_cells(shape: tuple[int, ...], n: int) -> list[tuple[int, int, int, int]]:
    """The first n cells of each kernel (o, c): (o, c, u, v)."""
    O, C, KH, KW = shape
    return [(o, c, *divmod(k, KW)) for o in range(O) for c in range(C) for k in range(min(n, KH * KW))]


def input_grad(ctx: MapContext, r: LayerRecord, g: _Geometry, X: MapVar, Y: MapVar, F: MapVar) -> list:
    """∂ℓ/∂X (C, H, W), cell by cell: every ∂ℓ/∂Y[o, i, j] · F[o, c, u, v] whose window covers the cell."""
    w, gy, gx = r.params["weight"].value, r.grad_output, r.grad_input
    assert gx is not None  # the explainer's pass computes ∂ℓ/∂input of every layer (record.records)
    rows = []
    for c, rr, s in first_cells(r.input.shape, ctx.cells):
        o_range = [o for o in range(g.O) if c in g.channels(o)]
        terms = []
        for o in o_range:
            ci = c - g.channels(o)[0]
            for i in range(g.OH):
                for j in range(g.OW):
                    for u in range(g.KH):
                        for v in range(g.KW):
                            if g.at(i, j, u, v) == (rr, s):
                                terms.append(product(Num(gy[o, i, j]), Num(w[o, ci, u, v])))
        lhs = d(ELL, X.el(c, rr, s))
        value = Num(gx[c, rr, s])
        rows.append((lhs, joined(Op.PLUS, terms), value) if terms else (lhs, value))
    intro = Prose(
        "Each input cell's ",
        d(ELL, X.map()),
        " collects ",
        d(ELL, Y.map()),
        " times the kernel entry that multiplied it, from every window it lies in:",
    )
    full = [(d(ELL, X.map(c)), Mat(gx[c])) for c in range(g.C)]
    return worked(intro, rows, r.input.shape, ctx.cells, "cells", full)


class Conv2dRule(Rule):
    """Conv2d in the one table of rules. An image network is written by ``explain/cnn.py`` with this
    module's ``forward`` / ``backward`` (from the pass's per-layer records); the dense orchestration
    never writes it."""

    kind = "conv2d"

    def forward(self, ctx: LayerContext) -> list[Block]:
        raise ChainruleError(
            f"layer {ctx.step.index} is {type(ctx.step.layer).__name__}: an image layer, written by "
            "explain's image-network path (explain/cnn.py), not as a dense stage"
        )

    backward = forward
