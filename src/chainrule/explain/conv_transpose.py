"""The transposed-convolution worksheet (``chainrule conv --transpose``): a ConvTranspose2d worked cell by cell.

    ws = conv_transpose_worksheet(X, F, stride=2)      # X (H, W) or (C, H, W); F (KH, KW) … (C, O, KH, KW)
    print(ws.render("text"))                           # Y₁,₂ = 2 · 0 + 3 · 1 = 3

Two views of the same sum. The *scatter* view is the definition: each input cell X[c, r, s] stamps its value
times the kernel into the output window whose corner is (r·S − P, s·S − P); overlapping stamps add. The
*gather* view writes each output cell as the sum of the input cells × kernel entries that landed on it:

    Y[o, i, j] = b[o] + Σ X[c, r, s] · F[c, o, u, v]   over r·S + u·D − P = i,  s·S + v·D − P = j

The worksheet states the scatter (one line per input cell: where its stamp goes) and then works the gather,
one equation per output cell. The gather is the one worked in full because each of its lines is one output
number, equal to what the engine computed and checkable on its own; the scatter's partial stamps are not
numbers anyone reads off the result. Every result is the engine's (ConvTranspose2d's forward); the terms
are the given input and kernel values.
"""

import json
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from chainrule.errors import ChainruleError
from chainrule.explain.conv_input import as_array, as_image, check_finite
from chainrule.explain.conv_writer import corner
from chainrule.explain.doc import (
    Document,
    Equations,
    Heading,
    Mat,
    Node,
    Num,
    Op,
    Paren,
    Prose,
    Row,
    Sym,
    joined,
    product,
    sym,
)
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render import render_document
from chainrule.nn.conv_transpose import ConvTranspose2d


def as_transpose_kernels(f: ArrayLike, channels: int) -> np.ndarray:
    """(C, O, KH, KW), PyTorch's ConvTranspose2d layout, from a kernel (KH, KW) of a 1-channel input, one
    kernel per input channel (C, KH, KW) or (C, O, KH, KW); the channel count must match the input's."""
    k = as_array(f, "kernel")
    if k.ndim == 2:
        if channels != 1:
            raise ChainruleError(
                f"kernel is {k.shape[0]}×{k.shape[1]} (one channel) but the input has {channels} channels; "
                "give one kernel per input channel, as [C][KH][KW] or [C][O][KH][KW]"
            )
        k = k[None, None]
    elif k.ndim == 3:
        if k.shape[0] != channels:
            raise ChainruleError(
                f"kernel has shape {k.shape}: {k.shape[0]} kernel(s), but the input has {channels} channel(s); "
                "a transposed convolution's kernel is [C][KH][KW] or [C][O][KH][KW] (PyTorch's layout)"
            )
        k = k[:, None]
    elif k.ndim != 4:
        raise ChainruleError(f"kernel must have 2, 3 or 4 axes (KH×KW, C×KH×KW or C×O×KH×KW), got shape {k.shape}")
    if k.shape[0] != channels:
        raise ChainruleError(
            f"the kernel has {k.shape[0]} input channel(s) (shape {k.shape}); the input has {channels}"
        )
    return k


@dataclass
class ConvTransposeWorksheet:
    """The engine's values for one image through one ConvTranspose2d (float64), and how to write them."""

    x: np.ndarray  # (C, H, W)
    kernel: np.ndarray  # (C, O, KH, KW)
    bias: np.ndarray | None  # (O,)
    layer: ConvTranspose2d
    y: np.ndarray  # (O, OH, OW), the engine's output

    def gather_terms(self, o: int, i: int, j: int) -> list[tuple[float, float, tuple]]:
        """[(X[c, r, s], F[c, o, u, v], (c, r, s, u, v))] of the input cells × kernel entries landing on Y[o, i, j]."""
        C, _, kh, kw = self.kernel.shape
        H, W = self.x.shape[1:]
        (sh, sw), (ph, pw), (dh, dw) = self.layer.stride, self.layer.padding, self.layer.dilation
        terms = []
        for c in range(C):
            for r in range(H):
                for s in range(W):
                    du, dv = i + ph - r * sh, j + pw - s * sw
                    if du < 0 or dv < 0 or du % dh or dv % dw or du // dh >= kh or dv // dw >= kw:
                        continue
                    u, v = du // dh, dv // dw
                    terms.append((float(self.x[c, r, s]), float(self.kernel[c, o, u, v]), (c, r, s, u, v)))
        return terms

    def stamp(self, r: int, s: int) -> tuple[tuple[int, int], tuple[int, int], bool]:
        """Output rows and columns (first, last, 0-based, clipped) input cell (r, s) writes into, and whether
        padding or the output's edge cut part of the stamp away."""
        _, _, kh, kw = self.kernel.shape
        (sh, sw), (ph, pw), (dh, dw) = self.layer.stride, self.layer.padding, self.layer.dilation
        oh, ow = self.y.shape[1:]
        r0, c0 = r * sh - ph, s * sw - pw
        r1, c1 = r0 + dh * (kh - 1), c0 + dw * (kw - 1)
        clipped = r0 < 0 or c0 < 0 or r1 >= oh or c1 >= ow
        return (max(r0, 0), min(r1, oh - 1)), (max(c0, 0), min(c1, ow - 1)), clipped

    def to_dict(self) -> dict:
        return {
            "operation": "transposed convolution",
            "input": self.x.tolist(),
            "kernel": self.kernel.tolist(),
            "bias": None if self.bias is None else self.bias.tolist(),
            "stride": list(self.layer.stride),
            "padding": list(self.layer.padding),
            "output_padding": list(self.layer.output_padding),
            "dilation": list(self.layer.dilation),
            "output": self.y.tolist(),
        }

    def document(self, max_cells: int = 64) -> Document:
        return _write(self, max_cells)

    def render(self, fmt: str = "text", decimals: int = 5, max_cells: int = 64, standalone: bool = False) -> str:
        if fmt == "json":
            return json.dumps(self.to_dict()) + "\n"
        return render_document(self.document(max_cells), fmt, NumberFormat(decimals), standalone=standalone)


def conv_transpose_worksheet(
    x: ArrayLike,
    kernel: ArrayLike,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    output_padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    bias: ArrayLike | None = None,
) -> ConvTransposeWorksheet:
    """Run the engine's ConvTranspose2d on one image and keep what the worksheet prints.

    x : (H, W) or (C, H, W);  kernel : (KH, KW), (C, KH, KW) or (C, O, KH, KW);  bias : (O,) or None.
    """
    x = as_image(x)
    k = as_transpose_kernels(kernel, x.shape[0])
    C, O, kh, kw = k.shape
    b = None
    if bias is not None:
        b = as_array(bias, "bias").reshape(-1)
        if b.size != O:
            raise ChainruleError(f"bias has {b.size} value(s) but there are {O} output channel(s): one bias each")
    if isinstance(padding, str):
        raise ChainruleError(f"--padding {padding!r}: a transposed convolution takes a number of rows/columns")
    layer = ConvTranspose2d(C, O, (kh, kw), stride, padding, output_padding, 1, b is not None, dilation, rng=0)
    layer.weight.data[...] = k
    if layer.bias is not None:  # made with a bias exactly when one was given
        layer.bias.data[...] = b
    layer.output_shape(x.shape)  # the clear error when the padding leaves no output
    with np.errstate(all="ignore"):
        y = layer.forward(x[None])[0]
    check_finite(y, "the output Y")
    return ConvTransposeWorksheet(x=x, kernel=k, bias=b, layer=layer, y=y)


def _write(ws: ConvTransposeWorksheet, max_cells: int) -> Document:
    C, O, kh, kw = ws.kernel.shape
    H, W = ws.x.shape[1:]
    oh, ow = ws.y.shape[1:]
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (
        ws.layer.stride,
        ws.layer.padding,
        ws.layer.output_padding,
        ws.layer.dilation,
    )

    def X(c: int, *idx: int) -> Sym:
        return sym("X", "X", *idx, layer=c + 1 if C > 1 else None)

    def F(c: int, o: int, *idx: int) -> Sym:
        index = ((o + 1,) if O > 1 else ()) + idx
        return sym("F", "F", *index, layer=c + 1 if C > 1 else None)

    def Y(o: int, *idx: int) -> Sym:
        return sym("Y", "Y", *idx, layer=o + 1 if O > 1 else None)

    doc = Document(title="Transposed convolution worksheet")
    doc.add(
        Prose(
            "Operation: transposed convolution (PyTorch's ConvTranspose2d, the adjoint of a convolution). Each "
            "input cell stamps its value times the kernel into the output; where stamps overlap they add."
        )
    )
    doc.add(Heading("Input, kernel and output size"))
    rows: list[tuple[Node, ...]] = [(X(c), Mat(ws.x[c])) for c in range(C)]
    rows += [(F(c, o), Mat(ws.kernel[c, o])) for c in range(C) for o in range(O)]
    if ws.bias is not None:
        rows.append((Sym("b", "b"), Mat(ws.bias)))
    doc.add(Equations(rows))
    size = []
    for name, n, s, p, d, k, op, out in (("rows", H, sh, ph, dh, kh, oph, oh), ("columns", W, sw, pw, dw, kw, opw, ow)):
        rhs: Node = Row(
            product(Paren(Row(Num(n), Op.MINUS, Num(1))), Num(s)),
            Op.MINUS,
            product(Num(2), Num(p)),
            Op.PLUS,
            product(Num(d), Paren(Row(Num(k), Op.MINUS, Num(1)))),
            Op.PLUS,
            Num(op),
            Op.PLUS,
            Num(1),
        )
        size.append((Sym(f"output {name}", rf"\text{{output {name}}}"), rhs, Num(out)))
    doc.add(Prose("Output size per axis: (H − 1)·S − 2P + D(K − 1) + output_padding + 1."))
    doc.add(Equations(size))

    doc.add(Heading("Scatter: where each input cell's stamp lands"))
    lines, shown = [], 0
    for c in range(C):
        for r in range(H):
            for s in range(W):
                if shown == max_cells:
                    break
                shown += 1
                (r0, r1), (c0, c1), clipped = ws.stamp(r, s)
                cut = " (part of it falls in the padding and is dropped)" if clipped else ""
                where = (
                    f"output rows {r0 + 1}-{r1 + 1}, columns {c0 + 1}-{c1 + 1}{cut}"
                    if r0 <= r1 and c0 <= c1
                    else "nowhere: the padding drops all of it"
                )
                lines.append(Prose(X(c, r + 1, s + 1), f" = {ws.x[c, r, s]:g} times the kernel is added onto {where}"))
    doc.add(*lines)
    _more(doc, C * H * W, shown, "input cells")

    doc.add(
        Heading("Gather: each output cell is the sum of the input cells times the kernel entries that landed on it")
    )
    rows, notes, shown = [], [], 0
    for o in range(O):
        for i in range(oh):
            for j in range(ow):
                if shown == max_cells:
                    break
                shown += 1
                terms = ws.gather_terms(o, i, j)
                rhs = joined(Op.PLUS, [product(Num(xv), Num(f)) for xv, f, _ in terms]) if terms else Num(0.0)
                if ws.bias is not None:
                    rhs = Row(rhs, Op.PLUS, Num(ws.bias[o]))
                rows.append((Y(o, i + 1, j + 1), rhs, Num(ws.y[o, i, j])))
                if not terms:
                    notes.append(Prose("no stamp reaches this cell (output_padding adds it)"))
                    continue
                fo = "" if O == 1 else f"{o + 1},"
                cells = ", ".join(
                    f"X{'' if C == 1 else f'[{c + 1}]'}[{r + 1},{s + 1}] with F[{fo}{u + 1},{v + 1}]"
                    for _, _, (c, r, s, u, v) in terms
                )
                notes.append(Prose(f"{corner(i, j, oh, ow)}from {cells}"))
    doc.add(Equations(rows, notes))
    _more(doc, O * oh * ow, shown, "output cells")
    doc.add(Equations([(Y(o), Mat(ws.y[o])) for o in range(O)]))
    return doc


def _more(doc: Document, total: int, shown: int, what: str) -> None:
    if total > shown:
        doc.add(Prose(f"... {total - shown} more {what} (raise --cells to show them)."))
