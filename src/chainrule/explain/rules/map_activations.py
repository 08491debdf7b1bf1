"""An activation applied to a map (after a convolution), cell by cell, from its record.

    Z[c, i, j] = f(Y[c, i, j]);   ∂ℓ/∂Y[c, i, j] = ∂ℓ/∂Z[c, i, j] · f'   (f' the engine's ∂z/∂a factor)

relu: f = max(0, ·), f' = 𝟙(Y > 0); tanh: f' = 1 − tanh²(Y); sigmoid: f' = σ(Y)(1 − σ(Y)); identity: Z = Y.
As for dense layers (``rules/activations.py``), tanh's and sigmoid's factor is written in the recitation's
form from the pre-activation, each cell with its value substituted: ∂Z[c,i,j]/∂Y[c,i,j] = 1 − tanh²(Y[c,i,j])
= 1 − tanh²(0.5) = 0.786448 (the engine's cached factor). Softmax over a map has no rule here (refused by name).
"""

from chainrule.errors import ChainruleError
from chainrule.explain.doc import ELL, Call, Mat, Node, Num, Op, Prose, Row, Sym, d, product
from chainrule.explain.map_names import MapContext, first_cells, worked
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules.activations import Elementwise, SigmoidRule, TanhRule
from chainrule.nn.activations import Identity, ReLU, Sigmoid, Tanh
from chainrule.nn.module import Module

FUNCS: dict[type[Module], Sym] = {ReLU: Sym("max", r"\max"), Tanh: Sym("tanh", r"\tanh"), Sigmoid: Sym("σ", r"\sigma")}
# the factor, from Y
FACTORS: dict[type[Module], Node] = {ReLU: Call(Sym("𝟙", r"\mathbb{1}"), Row(Sym("Y", "Y"), Op.GT, Num(0)))}
PRIMES: dict[type, Elementwise] = {Tanh: TanhRule(), Sigmoid: SigmoidRule()}  # written per cell from Y's value


def check(layer: Module, index: int) -> None:
    if type(layer) not in (*FUNCS, Identity):
        raise ChainruleError(
            f"layer {index} is {type(layer).__name__} on a map: explain writes relu, tanh, sigmoid and identity "
            "cell by cell on a map (put a softmax after Flatten and a Linear layer)"
        )


def _f(layer: Module, arg: Node) -> Call:
    """f(arg) of a map activation: max(0, arg), tanh(arg), σ(arg)."""
    f = FUNCS[type(layer)]
    return Call(f, Row(Num(0), Op.COMMA, arg)) if isinstance(layer, ReLU) else Call(f, arg)


def _factor(layer: Module, Y: Node) -> Node:
    """∂Z/∂Y in closed form from Y: 𝟙(Y > 0), 1 − tanh²(Y), σ(Y)(1 − σ(Y))."""
    prime = PRIMES.get(type(layer))
    return FACTORS[type(layer)] if prime is None else prime.fprime(Y)


def forward(ctx: MapContext, r: LayerRecord) -> list:
    Y, Z = ctx.names.inp(r.index), ctx.names.out(r.index)
    ident = isinstance(r.layer, Identity)
    rows: list[tuple[Node, ...]] = []
    for cell in first_cells(r.output.shape, ctx.cells):
        v, z = Num(r.input[cell]), Num(r.output[cell])
        rows.append(
            (Z.el(*cell), Y.el(*cell), z) if ident else (Z.el(*cell), _f(r.layer, Y.el(*cell)), _f(r.layer, v), z)
        )
    full = [(Z.map(c), Mat(r.output[c])) for c in range(r.output.shape[0])]
    return worked(Prose(f"{type(r.layer).__name__}, cell by cell:"), rows, r.output.shape, ctx.cells, "cells", full)


def backward(ctx: MapContext, r: LayerRecord) -> list:
    Y, Z = ctx.names.inp(r.index), ctx.names.out(r.index)
    ident = isinstance(r.layer, Identity)
    gx, dzda = r.grad_input, r.dzda
    assert gx is not None  # the explainer's pass computes ∂ℓ/∂input of every layer (record.records)
    rows: list[tuple[Node, ...]] = []
    for cell in first_cells(r.output.shape, ctx.cells):
        lhs, g = d(ELL, Y.el(*cell)), Num(r.grad_output[cell])
        if ident:
            rows.append((lhs, d(ELL, Z.el(*cell)), Num(gx[cell])))
        else:
            assert dzda is not None  # every activation but Identity caches its factor in backward
            dz, prime = Num(dzda[cell]), PRIMES.get(type(r.layer))
            if prime is not None:
                y = Y.el(*cell)
                rows.append((d(Z.el(*cell), y), prime.fprime(y), prime.fprime(Num(r.input[cell]), numbers=True), dz))
            sym = Row(d(ELL, Z.el(*cell)), d(Z.el(*cell), Y.el(*cell)))
            rows.append((lhs, sym, product(g, dz), Num(gx[cell])))
    factor = [] if ident else [" times the factor ", d(Z.map(), Y.map()), " = ", _factor(r.layer, Y.map())]
    intro = Prose(f"Back through {type(r.layer).__name__}: ", d(ELL, Z.map()), *factor, ", cell by cell:")
    full = [(d(ELL, Y.map(c)), Mat(gx[c])) for c in range(r.input.shape[0])]
    return worked(intro, rows, r.output.shape, ctx.cells, "cells", full)
