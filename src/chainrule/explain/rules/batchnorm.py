"""BatchNorm1d and BatchNorm2d in evaluation mode (explain runs the network as it predicts), per feature
or channel j, from the running statistics μ, σ² and the engine's normalised value (its cached x̂):

    ūⱼ = (uⱼ − μⱼ)/√(σ²ⱼ + ε)        ũⱼ = γⱼ ūⱼ + δⱼ
    ∂ℓ/∂uⱼ = ∂ℓ/∂ũⱼ · γⱼ/√(σ²ⱼ + ε)   ∂ℓ/∂γⱼ = ∂ℓ/∂ũⱼ · ūⱼ   ∂ℓ/∂δⱼ = ∂ℓ/∂ũⱼ

u is the layer's input symbol (a, z, x; Y, Z, P on a map), ū the normalised value and ũ the output. γ and δ
are PyTorch's ``weight`` and ``bias`` (δ, not the literature's β, which here is the output layer's weights);
several BatchNorm layers are numbered γ⁽¹⁾, γ⁽²⁾ … On a map (BatchNorm2d) μ, σ², γ, δ are per channel and
the parameter gradients sum over the channel's cells. A BatchNorm that normalises by the statistics of
its batch even in evaluation mode (``track_running_stats=False``) is refused: of one example they are
degenerate (σ² = 0 for a vector) and its backward is not a per-unit factor.
"""

from typing import Any

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.doc import ELL, Call, Equations, Frac, Mat, Node, Num, Op, Paren, Prose, Row, Sym, d, joined
from chainrule.explain.doc import product as prod
from chainrule.explain.map_names import MapContext, first_cells, worked
from chainrule.explain.notation import Var
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules.base import Block, LayerContext, Rule
from chainrule.explain.rules.linear import rel_err
from chainrule.nn.batchnorm import _BatchNorm
from chainrule.nn.module import Module

SQRT = Sym("√", r"\sqrt")
EPS = Sym("ε", r"\varepsilon")
TILDE, BAR = "\u0303", "\u0304"


def check(layer: Any, index: int) -> None:
    if not getattr(layer, "track_running_stats", True):
        raise ChainruleError(
            f"layer {index} is {type(layer).__name__}(track_running_stats=False): it normalises by its batch's "
            "statistics even in evaluation mode, and those of one example are degenerate; explain writes "
            "BatchNorm with running statistics (evaluation mode)"
        )


def decorated(v: Var, mark: str) -> Var:
    """ũ (the output) or ū (the normalised value) of the input family u: a → ã, z⁽²⁾ → z̃⁽²⁾."""
    latex = {TILDE: r"\tilde", BAR: r"\bar"}[mark]
    return Var(v.text + mark, rf"{latex}{{{v.latex}}}", v.layer, v.indexed)


def params(number: int | None) -> tuple[Var, Var, Var, Var]:
    """μ, σ², γ, δ of one BatchNorm layer (``number``: its superscript when there are several)."""
    return (
        Var("μ", r"\mu", number, greek=True),
        Var("σ²", r"{\sigma^{2}}", number, greek=True),  # braced: a layer number is a second superscript
        Var("γ", r"\gamma", number, greek=True),
        Var("δ", r"\delta", number, greek=True),
    )


def _bn(layer: Module) -> _BatchNorm:
    assert isinstance(layer, _BatchNorm)  # the table keys this rule by BatchNorm1d / BatchNorm2d
    return layer


def _xhat(extras: dict, shape: tuple[int, ...]) -> np.ndarray:
    x = extras["xhat"]
    return x[0] if x.ndim > len(shape) else x  # the batch of one


def _normalised(u: Node, mu: Node, var: Node, eps: Node) -> Frac:
    return Frac(Paren(Row(u, Op.MINUS, mu)), Call(SQRT, Row(var, Op.PLUS, eps)))


def _scale(g: Node, var: Node, eps: Node) -> Frac:
    return Frac(g, Call(SQRT, Row(var, Op.PLUS, eps)))


def intro(layer: Any, what: str, names: tuple[Var, Var, Var, Var]) -> Prose:
    mu, var, g, dl = (n.vec() for n in names)
    scaled = [", then scaled by ", g, " and shifted by ", dl, " (PyTorch's weight and bias)"] if layer.affine else []
    return Prose(
        f"{type(layer).__name__}({layer.num_features}) in evaluation mode: each {what} is normalised by its "
        "running mean ",
        mu,
        " and variance ",
        var,
        " (",
        Row(EPS, Op.EQ, Num(layer.eps)),
        ")",
        *scaled,
        ":",
    )


def given(layer: Any, names: tuple[Var, Var, Var, Var], gamma: Any, delta: Any, column: bool = False) -> Equations:
    """μ, σ², γ, δ as vectors (columns in the column layout)."""
    mu, var, g, dl = names
    values = [layer.running_mean, layer.running_var] + ([gamma, delta] if layer.affine else [])
    return Equations(
        [(n.vec(), Mat(v[:, None] if column else v)) for n, v in zip((mu, var, g, dl), values, strict=False)]
    )


class BatchNormRule(Rule):
    """BatchNorm1d in a dense network: it joins the Linear's section (before or after its activation)."""

    kind = "batchnorm"
    opens_section = False  # it is part of the recitation's layer, but not its activation
    normalises = True

    def capture(self, layer: Module) -> dict[str, np.ndarray]:
        cache = getattr(layer, "_cache", None)
        return {} if cache is None else {"xhat": cache[0]}

    def output_var(self, ctx: LayerContext) -> Var | None:
        return decorated(ctx.in_var, TILDE)

    def title(self, ctx: LayerContext, members: list[LayerContext]) -> str:
        return f"Input normalisation ({type(ctx.step.layer).__name__}({_bn(ctx.step.layer).num_features}))"

    def names(self, ctx: LayerContext) -> tuple[Var, Var, Var, Var]:
        n = ctx.notation
        total = ctx.count if n.norm_total is None else n.norm_total
        return params(ctx.ordinal + n.norm_offset if total > 1 else None)

    def _vec(self, ctx: LayerContext, v: np.ndarray) -> Mat:
        return Mat(np.asarray(v)[:, None]) if ctx.layout == "column" else Mat(np.asarray(v))

    def forward(self, ctx: LayerContext) -> list[Block]:
        layer, st = _bn(ctx.step.layer), ctx.step
        check(layer, st.index)
        mu, var, g, dl = self.names(ctx)
        U, N, T = ctx.in_var, decorated(ctx.in_var, BAR), ctx.out_var
        xhat, eps = _xhat(st.extras, st.input.shape), Num(layer.eps)
        m, v = layer.running_mean, layer.running_var
        gamma, delta = (st.params["weight"].value, st.params["bias"].value) if layer.affine else (None, None)
        column = ctx.form == "vector" and ctx.layout == "column"
        blocks: list[Block] = [
            intro(layer, "unit", (mu, var, g, dl)),
            given(layer, (mu, var, g, dl), gamma, delta, column),
        ]
        norm_lhs = N if layer.affine else T  # without γ, δ the normalised value is the output
        if ctx.form == "vector":
            V = self._vec
            vrows: list[tuple] = [
                (
                    norm_lhs.vec(),
                    _normalised(U.vec(), mu.vec(), var.vec(), EPS),
                    _normalised(V(ctx, st.input), V(ctx, m), V(ctx, v), eps),
                    V(ctx, xhat),
                )
            ]
            if layer.affine:
                vrows.append(
                    (
                        T.vec(),
                        Row(g.vec(), Op.HADAMARD, N.vec(), Op.PLUS, dl.vec()),
                        Row(
                            V(ctx, st.params["weight"].value),
                            Op.HADAMARD,
                            V(ctx, xhat),
                            Op.PLUS,
                            V(ctx, st.params["bias"].value),
                        ),
                        V(ctx, st.output),
                    )
                )
            return blocks + [Equations(vrows)]
        rows: list[tuple] = []
        for j in range(1, st.input.shape[0] + 1):
            k = j - 1
            rows.append(
                (
                    norm_lhs.el(j),
                    _normalised(U.el(j), mu.el(j), var.el(j), EPS),
                    _normalised(Num(st.input[k]), Num(m[k]), Num(v[k]), eps),
                    Num(xhat[k]),
                )
            )
            if layer.affine:
                assert gamma is not None and delta is not None
                rows.append(
                    (
                        T.el(j),
                        Row(g.el(j), N.el(j), Op.PLUS, dl.el(j)),
                        Row(prod(Num(gamma[k]), Num(xhat[k])), Op.PLUS, Num(delta[k])),
                        Num(st.output[k]),
                    )
                )
        return blocks + [Equations(rows)]

    def backward(self, ctx: LayerContext) -> list[Block]:
        layer, st = _bn(ctx.step.layer), ctx.step
        mu, var, g, dl = self.names(ctx)
        U, N, T = ctx.in_var, decorated(ctx.in_var, BAR), ctx.out_var
        xhat, eps, v = _xhat(st.extras, st.input.shape), Num(layer.eps), layer.running_var
        gamma = st.params["weight"].value if layer.affine else np.ones_like(v)
        gsym = (lambda j: g.el(j)) if layer.affine else (lambda j: Num(1))
        if ctx.form == "vector":
            V = self._vec
            gv = g.vec() if layer.affine else Num(1)
            rows: list[tuple] = [
                (
                    d(ELL, U.vec()),
                    Row(d(ELL, T.vec()), Op.HADAMARD, _scale(gv, var.vec(), EPS)),
                    Row(V(ctx, st.grad_output), Op.HADAMARD, _scale(V(ctx, gamma), V(ctx, v), eps)),
                    V(ctx, st.grad_input),
                )
            ]
            if layer.affine:
                rows += [
                    (
                        d(ELL, g.vec()),
                        Row(d(ELL, T.vec()), Op.HADAMARD, N.vec()),
                        Row(V(ctx, st.grad_output), Op.HADAMARD, V(ctx, xhat)),
                        V(ctx, st.params["weight"].grad),
                    ),
                    (d(ELL, dl.vec()), d(ELL, T.vec()), V(ctx, st.params["bias"].grad)),
                ]
            return [Equations(rows)]
        units = ctx.units if ctx.units is not None else range(1, st.input.shape[0] + 1)
        rows = []
        for j in units:
            k, gy = j - 1, Num(st.grad_output[j - 1])
            rows.append(
                (
                    d(ELL, U.el(j)),
                    Row(d(ELL, T.el(j)), d(T.el(j), U.el(j))),
                    prod(d(ELL, T.el(j)), _scale(gsym(j), var.el(j), EPS)),
                    prod(gy, _scale(Num(gamma[k]), Num(v[k]), eps)),
                    Num(st.grad_input[k]),
                )
            )
        if layer.affine:
            for j in units:
                k, gy = j - 1, Num(st.grad_output[j - 1])
                rows.append(
                    (
                        d(ELL, g.el(j)),
                        prod(d(ELL, T.el(j)), N.el(j)),
                        prod(gy, Num(xhat[k])),
                        Num(st.params["weight"].grad[k]),
                    )
                )
                rows.append((d(ELL, dl.el(j)), d(ELL, T.el(j)), Num(st.params["bias"].grad[k])))
        notes = [None] * len(units) + [fd_note(ctx, name, j - 1) for j in units for name in ("weight", "bias")]
        return [Equations(rows, notes if layer.affine else [])]


def fd_note(ctx: LayerContext, name: str, k: int) -> Prose | None:
    """With --check: the finite difference of γₖ / δₖ and the relative error, beside its gradient."""
    p = ctx.step.params[name]
    if not ctx.check or p.numeric is None:
        return None
    g, fd = float(p.grad[k]), float(p.numeric[k])
    return Prose("(finite differences: ", Num(fd), ", relative error ", Num(rel_err(g, fd)), ")")


# --- BatchNorm2d on a map (explain/cnn.py): per channel c, every cell (c, i, j) ---------------------
def map_names(ctx: MapContext, r: LayerRecord) -> tuple[Any, Any, Any, tuple[Var, Var, Var, Var]]:
    """(input map, its normalised map, the output map, (μ, σ², γ, δ)) of BatchNorm2d layer ``r``."""
    X, Y = ctx.names.inp(r.index), ctx.names.out(r.index)
    bns = [i for i, m in enumerate(ctx.names.layers) if isinstance(m, _BatchNorm)]
    total = max(len(bns), ctx.names.norm_total)  # numbered across the network (a BatchNorm1d after Flatten too)
    return X, ctx.names.bar(r.index), Y, params(bns.index(r.index) + 1 if total > 1 else None)


def map_given(ctx: MapContext, r: LayerRecord) -> list:
    gamma = r.params["weight"].value if "weight" in r.params else None
    delta = r.params["bias"].value if "bias" in r.params else None
    names = map_names(ctx, r)[3]
    return [intro(r.layer, "channel", names), given(r.layer, names, gamma, delta)]


def forward(ctx: MapContext, r: LayerRecord) -> list:
    check(r.layer, r.index)
    X, Xbar, Y, (mu, var, g, dl) = map_names(ctx, r)
    layer, xhat = _bn(r.layer), _xhat(r.extras, r.input.shape)
    m, v, eps = layer.running_mean, layer.running_var, Num(layer.eps)
    rows: list[tuple] = []
    for cell in first_cells(r.output.shape, ctx.cells):
        c = cell[0]
        lhs = Xbar.el(*cell) if layer.affine else Y.el(*cell)
        rows.append(
            (
                lhs,
                _normalised(X.el(*cell), mu.el(c + 1), var.el(c + 1), EPS),
                _normalised(Num(r.input[cell]), Num(m[c]), Num(v[c]), eps),
                Num(xhat[cell]),
            )
        )
        if layer.affine:
            gm, de = r.params["weight"].value[c], r.params["bias"].value[c]
            rows.append(
                (
                    Y.el(*cell),
                    Row(g.el(c + 1), Xbar.el(*cell), Op.PLUS, dl.el(c + 1)),
                    Row(prod(Num(gm), Num(xhat[cell])), Op.PLUS, Num(de)),
                    Num(r.output[cell]),
                )
            )
    full = [(Y.map(c), Mat(r.output[c])) for c in range(r.output.shape[0])]
    return map_given(ctx, r) + worked(Prose("Cell by cell:"), rows, r.output.shape, ctx.cells, "cells", full)


def backward(ctx: MapContext, r: LayerRecord) -> list:
    X, Xbar, Y, (mu, var, g, dl) = map_names(ctx, r)
    layer, xhat, gy = _bn(r.layer), _xhat(r.extras, r.input.shape), r.grad_output
    v, eps = layer.running_var, Num(layer.eps)
    blocks: list = []
    rows: list[tuple] = []
    if layer.affine:
        for c in range(r.output.shape[0]):
            cells = list(np.ndindex(*r.output.shape[1:]))
            rows.append(
                (
                    d(ELL, dl.el(c + 1)),
                    joined(Op.PLUS, [Num(gy[(c, *ij)]) for ij in cells]),
                    Num(r.params["bias"].grad[c]),
                )
            )
            terms = [prod(Num(gy[(c, *ij)]), Num(xhat[(c, *ij)])) for ij in cells]
            rows.append((d(ELL, g.el(c + 1)), joined(Op.PLUS, terms), Num(r.params["weight"].grad[c])))
        say = [d(ELL, dl.vec()), " sums ", d(ELL, Y.map()), " over its channel, ", d(ELL, g.vec()), " sums "]
        blocks += [Prose(*say, d(ELL, Y.map()), " times the normalised ", Xbar.map(), ":"), Equations(rows)]
    if r.grad_input is None:
        return blocks
    gamma = r.params["weight"].value if layer.affine else np.ones_like(v)
    rows = []
    for cell in first_cells(r.input.shape, ctx.cells):
        c = cell[0]
        gs = g.el(c + 1) if layer.affine else Num(1)
        rows.append(
            (
                d(ELL, X.el(*cell)),
                prod(d(ELL, Y.el(*cell)), _scale(gs, var.el(c + 1), EPS)),
                prod(Num(gy[cell]), _scale(Num(gamma[c]), Num(v[c]), eps)),
                Num(r.grad_input[cell]),
            )
        )
    full = [(d(ELL, X.map(c)), Mat(r.grad_input[c])) for c in range(r.input.shape[0])]
    gv = g.vec() if layer.affine else Num(1)
    intro_ = Prose("Each cell's gradient is scaled by its channel's ", _scale(gv, var.vec(), EPS), ":")
    return blocks + worked(intro_, rows, r.input.shape, ctx.cells, "cells", full)


class BatchNorm2dRule(Rule):
    """BatchNorm2d in the one table of rules: a map layer, written by ``explain/cnn.py`` with this module's
    ``forward`` / ``backward``; the dense orchestration never writes it."""

    kind = "batchnorm2d"

    def capture(self, layer: Module) -> dict[str, np.ndarray]:
        return BatchNormRule().capture(layer)

    def forward(self, ctx: LayerContext) -> list[Block]:
        raise ChainruleError(f"layer {ctx.step.index} is BatchNorm2d: it normalises maps (put it before Flatten)")

    backward = forward
