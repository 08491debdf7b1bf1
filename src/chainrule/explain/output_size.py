"""The output size of a convolution or pooling window, worked per axis as in recitation 4.1.6 / 4.2 b:

    output rows    = ⌊(H + 2P − K)/S⌋ + 1 = ⌊12/3⌋ + 1 = 4 + 1 = 5

A ``Document`` (qids ``output rows`` and ``output columns``, as in the convolution worksheet), from
the engine's one size calculation ``core.windows.size_steps``.
"""

from typing import Any

from chainrule.core import windows as win
from chainrule.explain.doc import Document, Equations, Frac, Num, Op, Prose, Row, Sym

FLOOR_L, FLOOR_R = Sym("⌊", r"\left\lfloor "), Sym("⌋", r"\right\rfloor")
AXES = (("rows", "H"), ("columns", "W"))


def size_rows(steps: Any) -> list[tuple]:
    """One equation line per axis: output = ⌊(H + 2P − K)/S⌋ + 1 = ⌊m/S⌋ + 1 = d + 1 = out."""
    rows = []
    for (name, _), a in zip(AXES, steps, strict=True):
        inner = Row(Num(a.size), Op.PLUS, Num(a.pad_before + a.pad_after), Op.MINUS, Num(a.extent))
        rows.append(
            (
                Sym(f"output {name}", rf"\text{{output {name}}}"),
                Row(FLOOR_L, Frac(inner, Num(a.stride)), FLOOR_R, Op.PLUS, Num(1)),
                Row(FLOOR_L, Frac(Num(a.minus_kernel), Num(a.stride)), FLOOR_R, Op.PLUS, Num(1)),
                Row(Num(a.divided), Op.PLUS, Num(1)),
                Num(a.output),
            )
        )
    return rows


def output_size_document(size: Any, kernel: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Document:
    """size (H, W); kernel, stride, padding, dilation: an int or a pair."""
    steps = win.size_steps(
        tuple(size),
        win.pair(kernel, "kernel"),
        win.pair(stride, "stride"),
        win.padding_arg(padding),
        win.pair(dilation, "dilation"),
    )
    h, w = steps
    doc = Document(title="Output size, worked")
    doc.add(
        Prose(
            f"Input {h.size} × {w.size}, kernel {h.kernel} × {w.kernel}, padding {h.pad_before} × {w.pad_before}, "
            f"stride {h.stride} × {w.stride}. Per axis the output size is ⌊(H + 2P − K)/S⌋ + 1:"
        )
    )
    doc.add(Equations(size_rows(steps)))
    return doc
