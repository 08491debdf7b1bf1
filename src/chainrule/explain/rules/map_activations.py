"""An activation applied to a map (after a convolution), cell by cell, from its record.

    Z[c, i, j] = f(Y[c, i, j]);   ∂ℓ/∂Y[c, i, j] = ∂ℓ/∂Z[c, i, j] · f'   (f' the engine's ∂z/∂a factor)

relu: f = max(0, ·), f' = 𝟙(Y > 0); tanh: f' = 1 − Z²; sigmoid: f' = Z(1 − Z); identity: Z = Y.
Softmax over a map has no rule here (refused by name).
"""

from chainrule.errors import ChainruleError
from chainrule.explain.doc import ELL, Call, Mat, Num, Op, Paren, Power, Prose, Row, Sym, d, product
from chainrule.explain.map_names import MapContext, first_cells, worked
from chainrule.explain.record import LayerRecord
from chainrule.nn.activations import Identity, ReLU, Sigmoid, Tanh

FUNCS = {ReLU: Sym("max", r"\max"), Tanh: Sym("tanh", r"\tanh"), Sigmoid: Sym("σ", r"\sigma")}
FACTORS = {  # the engine's factor, as its backward writes it (from the cached output)
    ReLU: Call(Sym("𝟙", r"\mathbb{1}"), Row(Sym("Y", "Y"), Op.GT, Num(0))),
    Tanh: Row(Num(1), Op.MINUS, Power(Sym("Z", "Z"), "2")),
    Sigmoid: Row(Sym("Z", "Z"), Paren(Row(Num(1), Op.MINUS, Sym("Z", "Z")))),
}


def check(layer, index: int) -> None:
    if type(layer) not in (*FUNCS, Identity):
        raise ChainruleError(
            f"layer {index} is {type(layer).__name__} on a map: explain writes relu, tanh, sigmoid and identity "
            "cell by cell on a map (put a softmax after Flatten and a Linear layer)"
        )


def _f(layer, arg) -> Call:
    f = FUNCS[type(layer)]
    return Call(f, Row(Num(0), Op.COMMA, arg)) if isinstance(layer, ReLU) else Call(f, arg)


def forward(ctx: MapContext, r: LayerRecord) -> list:
    Y, Z = ctx.names.inp(r.index), ctx.names.out(r.index)
    ident = isinstance(r.layer, Identity)
    rows = []
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
    rows = []
    for cell in first_cells(r.output.shape, ctx.cells):
        lhs, g = d(ELL, Y.el(*cell)), Num(r.grad_output[cell])
        if ident:
            rows.append((lhs, d(ELL, Z.el(*cell)), Num(r.grad_input[cell])))
        else:
            sym = Row(d(ELL, Z.el(*cell)), d(Z.el(*cell), Y.el(*cell)))
            rows.append((lhs, sym, product(g, Num(r.dzda[cell])), Num(r.grad_input[cell])))
    factor = [] if ident else [" times the factor ", d(Z.map(), Y.map()), " = ", FACTORS[type(r.layer)]]
    intro = Prose(f"Back through {type(r.layer).__name__}: ", d(ELL, Z.map()), *factor, ", cell by cell:")
    full = [(d(ELL, Y.map(c)), Mat(r.grad_input[c])) for c in range(r.input.shape[0])]
    return worked(intro, rows, r.output.shape, ctx.cells, "cells", full)
