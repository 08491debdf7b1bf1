"""Flatten, written out from its record: the map P (C, H, W) laid out as the vector x, row by row.

    x[k] = P[c, i, j]  with  k = (c − 1)·H·W + (i − 1)·W + j   (all from 1);   ∂ℓ/∂P[c, i, j] = ∂ℓ/∂x[k]

x is the dense part's input (the recitation's x), so the dense layers after it keep their notation.
"""

from typing import Any

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.doc import ELL, Mat, Num, Prose, d
from chainrule.explain.map_names import MapContext, first_cells, worked
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules.base import Block, LayerContext, Rule


def _flat_index(shape: tuple[int, ...], cell: tuple[int, ...]) -> int:
    return int(np.ravel_multi_index(cell, shape))


def _mapping(shape: tuple[int, ...], P: Any) -> Prose:
    if len(shape) != 3:
        return Prose("x is ", P.map(), " itself (it is a vector already).")
    C, H, W = shape
    return Prose(
        "Flatten lays ",
        P.map(),
        " out as the vector x, row by row, channel after channel (everything counted from 1): entry "
        f"(c, i, j) becomes x_k with k = (c - 1)*{H * W} + (i - 1)*{W} + j; back, c = floor((k - 1)/{H * W}) + 1, "
        f"i = floor(((k - 1) mod {H * W})/{W}) + 1, j = (k - 1) mod {W} + 1.",
    )


def forward(ctx: MapContext, r: LayerRecord) -> list:
    P, x = ctx.names.inp(r.index), ctx.names.out(r.index)
    shape = r.input.shape
    rows = []
    for cell in first_cells(shape, ctx.cells):
        k = _flat_index(shape, cell)
        rows.append((x.el(k), P.el(*cell), Num(r.output[k])))
    return worked(_mapping(shape, P), rows, shape, ctx.cells, "entries", [(x.map(), Mat(r.output))])


def backward(ctx: MapContext, r: LayerRecord) -> list:
    P, x = ctx.names.inp(r.index), ctx.names.out(r.index)
    shape = r.input.shape
    assert r.grad_input is not None  # Flatten is never first: something below needs its gradient
    rows = []
    for cell in first_cells(shape, ctx.cells):
        k = _flat_index(shape, cell)
        rows.append((d(ELL, P.el(*cell)), d(ELL, x.el(k)), Num(r.grad_input[cell])))
    intro = Prose("Back through Flatten: each entry of the gradient goes back to its cell of ", P.map(), ":")
    full = [(d(ELL, P.map(c)), Mat(r.grad_input[c])) for c in range(shape[0])] if len(shape) == 3 else []
    return worked(intro, rows, shape, ctx.cells, "entries", full)


class FlattenRule(Rule):
    """Flatten in the one table of rules. An image network is written by ``explain/cnn.py`` with this
    module's ``forward`` / ``backward`` (from the pass's per-layer records); the dense orchestration
    never writes it."""

    kind = "flatten"

    def forward(self, ctx: LayerContext) -> list[Block]:
        raise ChainruleError(
            f"layer {ctx.step.index} is {type(ctx.step.layer).__name__}: an image layer, written by "
            "explain's image-network path (explain/cnn.py), not as a dense stage"
        )

    backward = forward
