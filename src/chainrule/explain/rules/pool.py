"""MaxPool2d and AvgPool2d, written out from their records (input Z, output P, ∂ℓ/∂P, ∂ℓ/∂Z).

    max:  P[c, i, j] = max of the window;  ∂ℓ/∂Z[c, r, s] = Σ ∂ℓ/∂P[c, i, j] over the windows whose
          maximum is (r, s) (ties: the first maximum in window order, as PyTorch and the engine route)
    avg:  P[c, i, j] = (Σ of the window) / (KH·KW), padding counted as 0 (count_include_pad);
          ∂ℓ/∂Z[c, r, s] = Σ ∂ℓ/∂P[c, i, j] / (KH·KW) over the windows that hold (r, s)

The window's cells are read from the record's input; each result is the engine's output or gradient.
"""

from typing import Any

from chainrule.errors import ChainruleError
from chainrule.explain.doc import ELL, Call, Frac, Mat, Node, Num, Op, Paren, Prose, Sym, d, joined
from chainrule.explain.map_names import MapContext, first_cells, worked
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules.base import Block, LayerContext, Rule
from chainrule.nn.pool import MaxPool2d

MAX = Sym("max", r"\max")


def _windows(r: LayerRecord) -> dict:
    """(i, j) -> the window's cells [(row, col) on the unpadded input, or None for padding], in order."""
    m: Any = r.layer  # a MaxPool2d or AvgPool2d (this rule is registered for those two)
    H, W = r.input.shape[-2:]
    top, _, left, _ = m.pads((H, W))
    (kh, kw), (sh, sw), (dh, dw) = m.kernel_size, m.stride, m.dilation
    out = {}
    for i in range(r.output.shape[-2]):
        for j in range(r.output.shape[-1]):
            cells = []
            for u in range(kh):
                for v in range(kw):
                    row, col = i * sh + u * dh - top, j * sw + v * dw - left
                    cells.append((row, col) if 0 <= row < H and 0 <= col < W else None)
            out[i, j] = cells
    return out


def forward(ctx: MapContext, r: LayerRecord) -> list:
    Z, P = ctx.names.inp(r.index), ctx.names.out(r.index)
    wins, is_max = _windows(r), isinstance(r.layer, MaxPool2d)
    pool: Any = r.layer
    k = pool.kernel_size[0] * pool.kernel_size[1]
    rows: list[tuple] = []
    for c, i, j in first_cells(r.output.shape, ctx.cells):
        cells = wins[i, j]
        if is_max:
            vals = [Num(r.input[(c, *at)]) for at in cells if at is not None]  # padding (−∞) never wins
            rhs: Node = Call(MAX, joined(Op.COMMA, vals))
        else:
            vals = [Num(0.0 if at is None else r.input[(c, *at)]) for at in cells]
            rhs = Frac(Paren(joined(Op.PLUS, vals)), Num(k))
        rows.append((P.el(c, i, j), rhs, Num(r.output[c, i, j])))
    kind = "the largest entry" if is_max else f"the mean of the {k} entries (padding counts as 0)"
    intro = Prose("Each cell of ", P.map(), f" is {kind} of its window of ", Z.map(), ":")
    full = [(P.map(c), Mat(r.output[c])) for c in range(r.output.shape[0])]
    return worked(intro, rows, r.output.shape, ctx.cells, "cells", full)


def backward(ctx: MapContext, r: LayerRecord) -> list:
    Z, P = ctx.names.inp(r.index), ctx.names.out(r.index)
    wins, is_max = _windows(r), isinstance(r.layer, MaxPool2d)
    pool: Any = r.layer
    k = pool.kernel_size[0] * pool.kernel_size[1]
    gp = r.grad_output
    assert r.grad_input is not None  # the pooling's input gradient is what this section writes
    into: dict = {}  # (c, row, col) -> the output cells (i, j) whose gradient it receives
    for c in range(r.output.shape[0]):
        for (i, j), cells in wins.items():
            if is_max:
                targets = [next(at for at in cells if at is not None and r.input[(c, *at)] == r.output[c, i, j])]
            else:
                targets = [at for at in cells if at is not None]
            for at in targets:
                into.setdefault((c, *at), []).append((i, j))
    rows: list[tuple] = []
    for c, rr, s in first_cells(r.input.shape, ctx.cells):
        src = into.get((c, rr, s), [])
        lhs, value = d(ELL, Z.el(c, rr, s)), Num(r.grad_input[c, rr, s])
        if not src:
            rows.append((lhs, value))
            continue
        syms = joined(Op.PLUS, [d(ELL, P.el(c, i, j)) for i, j in src])
        nums = joined(Op.PLUS, [Num(gp[c, i, j]) for i, j in src])
        if is_max:
            rows.append((lhs, syms, nums, value) if len(src) > 1 else (lhs, syms, value))
        else:
            wrap = Paren if len(src) > 1 else (lambda e: e)
            rows.append((lhs, Frac(wrap(syms), Num(k)), Frac(wrap(nums), Num(k)), value))
    how = (
        "the gradient goes to the window's maximum (the first one, in window order, on a tie); "
        "a cell that is no window's maximum gets 0"
        if is_max
        else f"every cell of a window gets 1/{k} of its gradient"
    )
    full = [(d(ELL, Z.map(c)), Mat(r.grad_input[c])) for c in range(r.input.shape[0])]
    return worked(Prose(f"Back through the pooling: {how}:"), rows, r.input.shape, ctx.cells, "cells", full)


class PoolRule(Rule):
    """MaxPool2d / AvgPool2d in the one table of rules. An image network is written by ``explain/cnn.py`` with this
    module's ``forward`` / ``backward`` (from the pass's per-layer records); the dense orchestration
    never writes it."""

    kind = "pooling"

    def forward(self, ctx: LayerContext) -> list[Block]:
        raise ChainruleError(
            f"layer {ctx.step.index} is {type(ctx.step.layer).__name__}: an image layer, written by "
            "explain's image-network path (explain/cnn.py), not as a dense stage"
        )

    backward = forward
