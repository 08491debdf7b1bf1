"""The convolution worksheet written out: ConvWorksheet -> Document (forward cell by cell, then backward).

The writer only reads what the engine computed (the worksheet's arrays and the layer's patch matrix).
"""

from typing import TYPE_CHECKING

import numpy as np

from chainrule.core import windows as win
from chainrule.explain.doc import (
    ELL,
    SUM,
    Document,
    Equations,
    Frac,
    Heading,
    Mat,
    Node,
    Num,
    Op,
    Paren,
    Prose,
    Row,
    Sym,
    d,
    joined,
    product,
    sym,
)

if TYPE_CHECKING:
    from chainrule.explain.convolution import ConvWorksheet

FLOOR_L, FLOOR_R = Sym("⌊", r"\left\lfloor "), Sym("⌋", r"\right\rfloor")


class ConvWriter:
    """ConvWorksheet -> Document (symbols 1-based, as on the board)."""

    def __init__(self, ws: "ConvWorksheet", max_cells: int):
        self.ws, self.max = ws, max_cells
        O, C, *_ = ws.shape
        self.multi_o, self.multi_c = O > 1, C > 1

    # symbols
    def X(self, c: int, *idx: int, hat: bool = False) -> Sym:
        """X (the input) of channel ``c`` (0-based), at 1-based ``idx``; X̃ (padded) with ``hat``."""
        name = ("X̃", r"\tilde{X}") if hat else ("X", "X")
        return sym(*name, *idx, layer=c + 1 if self.multi_c else None)

    def F(self, o: int, c: int | None = None, *idx: int, rot: bool = False) -> Sym:
        """The kernel of filter ``o`` (channel ``c``, 0-based) at 1-based ``idx``; F' (the one applied) with ``rot``."""
        t, lx = ("F'", "F'") if rot else ("F", "F")
        index = ((c + 1,) if self.multi_c and c is not None else ()) + idx
        return sym(t, lx, *index, layer=o + 1 if self.multi_o else None)

    def Y(self, o: int, *idx: int) -> Sym:
        return sym("Y", "Y", *idx, layer=o + 1 if self.multi_o else None)

    def G(self, o: int) -> Frac:
        """∂ℓ/∂Y of filter ``o``."""
        return d(ELL, self.Y(o))

    def document(self) -> Document:
        ws = self.ws
        doc = Document(title="Convolution worksheet")
        if ws.flip:
            doc.add(
                Prose(
                    "Operation: true convolution. The kernel is flipped (rotated by 180 degrees) before it "
                    "slides over the input; deep-learning frameworks compute cross-correlation instead."
                )
            )
        else:
            doc.add(
                Prose(
                    "Operation: cross-correlation, as every deep-learning framework computes it (the "
                    "kernel is not flipped; use --flip for a true convolution)."
                )
            )
        self.setup(doc)
        self.forward(doc)
        if ws.g is not None:
            self.backward(doc)
        return doc

    def setup(self, doc: Document) -> None:
        ws = self.ws
        O, C, kh, kw, oh, ow = ws.shape
        doc.add(Heading("Input, kernel and output size"))
        rows = [(self.X(c), Mat(ws.x[c])) for c in range(C)]
        rows += [(self.F(o, c if self.multi_c else None), Mat(ws.kernel[o, c])) for o in range(O) for c in range(C)]
        if ws.flip:
            rows += [
                (self.F(o, c if self.multi_c else None, rot=True), Mat(ws.used[o, c]))
                for o in range(O)
                for c in range(C)
            ]
        if ws.bias is not None:
            rows.append((Sym("b", "b"), Mat(ws.bias)))
        doc.add(Equations(rows))
        t, b, left, r = ws.pads
        (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
        if any(ws.pads):
            doc.add(Prose(f"Padding: {t} row(s) above, {b} below, {left} column(s) left, {r} right, all zeros:"))
            doc.add(Equations([(self.X(c, hat=True), Mat(ws.xp[c])) for c in range(C)]))
        steps = win.size_steps(ws.x.shape[1:], (kh, kw), (sh, sw), ws.layer.padding, (dh, dw))
        eq = []
        for name, a in zip(("rows", "columns"), steps, strict=True):
            inner = Row(Num(a.size), Op.PLUS, Num(a.pad_before + a.pad_after), Op.MINUS, Num(a.extent))
            eq.append(
                (
                    Sym(f"output {name}", rf"\text{{output {name}}}"),
                    Row(FLOOR_L, Frac(inner, Num(a.stride)), FLOOR_R, Op.PLUS, Num(1)),
                    Num(a.output),
                )
            )
        doc.add(Equations(eq))
        if dh > 1 or dw > 1:
            doc.add(
                Prose(
                    f"Dilation {dh}x{dw}: kernel entries are {dh} row(s) / {dw} column(s) apart, so a window "
                    f"spans {steps[0].extent}x{steps[1].extent} input cells."
                )
            )

    def forward(self, doc: Document) -> None:
        ws = self.ws
        O, C, kh, kw, oh, ow = ws.shape
        (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
        doc.add(
            Heading(
                "Forward: each output cell is the kernel times the window under it, summed"
                + (" over the channels" if C > 1 else "")
            )
        )
        rows, notes, shown = [], [], 0
        for o in range(O):
            for i in range(oh):
                for j in range(ow):
                    if shown == self.max:
                        break
                    shown += 1
                    terms = ws.forward_terms(o, i, j)
                    groups = []
                    for c in range(C):
                        # terms run (c, u, v) row-major, so kernel row (c, u) is one contiguous slice of kw
                        per_row = [
                            Paren(
                                joined(
                                    Op.PLUS,
                                    [
                                        product(Num(f), Num(xv))
                                        for f, xv, _ in terms[(c * kh + u) * kw : (c * kh + u + 1) * kw]
                                    ],
                                )
                            )
                            for u in range(kh)
                        ]
                        group = joined(Op.PLUS, per_row)
                        groups.append(Paren(group) if C > 1 else group)
                    rhs = joined(Op.PLUS, groups)
                    if ws.bias is not None:
                        rhs = Row(rhs, Op.PLUS, Num(ws.bias[o]))
                    rows.append((self.Y(o, i + 1, j + 1), rhs, Num(ws.y[o, i, j])))
                    r0, c0 = i * sh + 1, j * sw + 1
                    where = corner(i, j, oh, ow)
                    notes.append(
                        Prose(
                            f"{where}window rows {r0}-{r0 + dh * (kh - 1)}, columns "
                            f"{c0}-{c0 + dw * (kw - 1)} of the {'padded ' if any(ws.pads) else ''}input"
                        )
                    )
        doc.add(Equations(rows, notes))
        self._more(doc, O * oh * ow, shown, "output cells")
        doc.add(Equations([(self.Y(o), Mat(ws.y[o])) for o in range(O)]))

    def backward(self, doc: Document) -> None:
        ws = self.ws
        g_out, grad_input, grad_kernel = ws.backward_values()
        O, C, kh, kw, oh, ow = ws.shape
        (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
        doc.add(Heading("Backward"))
        if ws.g_assumed:
            doc.add(Prose("No gradient given: taking l = sum of all Y, so every entry of dl/dY is 1."))
        doc.add(Equations([(self.G(o), Mat(g_out[o])) for o in range(O)]))

        doc.add(Heading("Gradient of the kernel: the padded input correlated with the output gradient", 2))
        doc.add(
            Prose(
                "Each kernel entry multiplied every input value its position visited; the gradient sums those "
                "values weighted by the output gradient."
            )
        )
        rows: list[tuple[Node, ...]] = []  # a line per kernel entry, then per input cell
        shown = 0
        for o in range(O):
            for c in range(C):
                for u in range(kh):
                    for v in range(kw):
                        if shown == self.max:
                            break
                        shown += 1
                        terms = ws.kernel_grad_terms(o, c, u, v)
                        # terms run (i, j) row-major: output row i is one slice of ow, not a scan of oh·ow
                        per_row = [
                            Paren(
                                joined(Op.PLUS, [product(Num(g), Num(xv)) for g, xv, _ in terms[i * ow : (i + 1) * ow]])
                            )
                            for i in range(oh)
                        ]
                        rows.append(
                            (
                                d(ELL, self.F(o, c if self.multi_c else None, u + 1, v + 1)),
                                joined(Op.PLUS, per_row),
                                Num(grad_kernel[o, c, u, v]),
                            )
                        )
        doc.add(Equations(rows))
        self._more(doc, O * C * kh * kw, shown, "kernel entries")
        doc.add(
            Equations(
                [
                    (d(ELL, self.F(o, c if self.multi_c else None)), Mat(grad_kernel[o, c]))
                    for o in range(O)
                    for c in range(C)
                ]
            )
        )
        gb = ws.grad_bias  # set exactly when there is a bias
        if gb is not None:
            doc.add(Prose("The bias is added to every output cell of its filter, so its gradient is the sum of dl/dY:"))
            doc.add(Equations([(d(ELL, sym("b", "b", o + 1)), Row(SUM, self.G(o)), Num(gb[o])) for o in range(O)]))

        doc.add(
            Heading(
                "Gradient of the input: the output gradient fully correlated with the kernel rotated by 180 degrees", 2
            )
        )
        extra = (
            f", with {sh - 1} zero row(s) / {sw - 1} zero column(s) between its entries (stride {sh}x{sw})"
            if (sh, sw) != (1, 1)
            else ""
        )
        ext_h, ext_w = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        doc.add(
            Prose(
                "Each input cell receives, from every window that contained it, the output gradient of that "
                "window times the kernel entry that touched it. Written as one sliding sum: pad the output "
                f"gradient with {ext_h - 1} zero row(s) and {ext_w - 1} zero column(s) all round{extra} "
                "(call it ",
                Sym("G̃", r"\tilde{G}"),
                "), slide the rotated kernel over it"
                + (" (its entries still dilated)" if (dh, dw) != (1, 1) else "")
                + ", and drop the padding rows and columns from the result.",
            )
        )
        rot = self.ws.used[:, :, ::-1, ::-1]
        doc.add(
            Equations(
                [
                    (
                        Sym(
                            "rot180(" + self.F(o, c if self.multi_c else None).text + ")",
                            r"\mathrm{rot}_{180}(" + self.F(o, c if self.multi_c else None).latex + ")",
                        ),
                        Mat(rot[o, c]),
                    )
                    for o in range(O)
                    for c in range(C)
                ]
                + [
                    (sym("G̃", r"\tilde{G}", layer=o + 1 if self.multi_o else None), Mat(self._g_tilde(o)))
                    for o in range(O)
                ]
            )
        )
        notes: list[Prose | None] = []
        rows, shown = [], 0
        H, W = ws.x.shape[1:]
        for c in range(C):
            for r in range(H):
                for s in range(W):
                    if shown == self.max:
                        break
                    shown += 1
                    terms = ws.input_grad_terms(c, r, s)
                    lhs = d(ELL, self.X(c, r + 1, s + 1))
                    if not terms:
                        rows.append((lhs, Num(0.0)))
                        notes.append(Prose("no window covers this cell (the floor in the output size drops it)"))
                        continue
                    rhs = joined(Op.PLUS, [product(Num(g), Num(f)) for g, f, _ in terms])
                    rows.append((lhs, rhs, Num(grad_input[c, r, s])))
                    notes.append(None)
        doc.add(Equations(rows, notes))
        self._more(doc, C * H * W, shown, "input cells")
        doc.add(Equations([(d(ELL, self.X(c)), Mat(grad_input[c])) for c in range(C)]))

    def _g_tilde(self, o: int) -> np.ndarray:
        """∂ℓ/∂Y of filter o spread out by the stride and zero-padded by the kernel's extent − 1."""
        ws = self.ws
        _, _, kh, kw, oh, ow = ws.shape
        (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
        eh, ew = dh * (kh - 1), dw * (kw - 1)
        Hp, Wp = ws.xp.shape[1:]
        out = np.zeros((Hp + eh, Wp + ew))
        out[eh : eh + sh * (oh - 1) + 1 : sh, ew : ew + sw * (ow - 1) + 1 : sw] = ws.backward_values()[0][o]
        return out

    def _more(self, doc: Document, total: int, shown: int, what: str) -> None:
        if total > shown:
            doc.add(Prose(f"... {total - shown} more {what} (raise --cells to show them)."))


def corner(i: int, j: int, oh: int, ow: int) -> str:
    """'top left: ' for the corner cells of a grid with more than one row and column, else ''."""
    if oh < 2 or ow < 2 or i not in (0, oh - 1) or j not in (0, ow - 1):
        return ""
    return f"{'top' if i == 0 else 'bottom'} {'left' if j == 0 else 'right'}: "
