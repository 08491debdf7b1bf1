"""The convolution worksheet: a Conv2d's forward and backward pass worked cell by cell (recitation 4.2).

    ws = conv_worksheet(X, F)                        # X (H, W) or (C, H, W); F (KH, KW) … (O, C, KH, KW)
    print(ws.render("text"))                         # Y₁,₁ = (1·2 + 0·3 + 1·(−1)) + … = −2

Every number comes from the engine: the layer runs forward (im2col path) and its patch matrix — the
very windows it multiplied — supplies each product's input value; each cell's result is the layer's
output. With a gradient G = ∂ℓ/∂Y the layer runs backward, and the worksheet writes

    ∂ℓ/∂F[o, c, u, v] = Σ_{i,j} G[o, i, j] · Xp[c, i·S + u·D, j·S + v·D]   (X correlated with G)
    ∂ℓ/∂X[c, r, s]    = Σ_o Σ G[o, i, j] · F[o, c, u, v]  over i·S + u·D − P = r, j·S + v·D − P = s
                        (the full correlation of G with the kernel rotated by 180°)

with the engine's ``weight.grad`` and ∂ℓ/∂x as the results. ``flip=True`` computes a true
convolution (the kernel rotated by 180° before sliding) and says so.
"""

import json
from dataclasses import dataclass

import numpy as np

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.explain.doc import (
    ELL,
    SUM,
    Document,
    Equations,
    Frac,
    Heading,
    Mat,
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
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render import render_document
from chainrule.nn.conv import Conv2d

FLOOR_L, FLOOR_R = Sym("⌊", r"\left\lfloor "), Sym("⌋", r"\right\rfloor")


def as_image(x, what: str = "input") -> np.ndarray:
    """(C, H, W) float64 from nested lists / an array of 2 or 3 axes; ragged lists are an error."""
    a = _array(x, what)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ChainruleError(
            f"{what} must be a matrix (H×W) or channels of matrices (C×H×W), got {a.ndim} axis/axes, shape {a.shape}"
        )
    return a


def as_kernels(f, channels: int) -> np.ndarray:
    """(O, C, KH, KW) from a kernel (KH, KW), one filter (C, KH, KW), filters of a 1-channel input
    (O, KH, KW), or (O, C, KH, KW); the channel count must match the input's."""
    k = _array(f, "kernel")
    if k.ndim == 2 and channels != 1:
        raise ChainruleError(
            f"kernel is {k.shape[0]}×{k.shape[1]} (one channel) but the input has {channels} "
            f"channels; give one {k.shape[0]}×{k.shape[1]} kernel per channel, as [C][KH][KW]"
        )
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        if k.shape[0] == channels:
            k = k[None]
        elif channels == 1:
            k = k[:, None]
        else:
            raise ChainruleError(
                f"kernel has shape {k.shape}: read as one filter it has {k.shape[0]} "
                f"channel(s), but the input has {channels}; give {channels} kernels per "
                f"filter, as [C][KH][KW] or [F][C][KH][KW]"
            )
    elif k.ndim != 4:
        raise ChainruleError(f"kernel must have 2, 3 or 4 axes (KH×KW, C×KH×KW or F×C×KH×KW), got shape {k.shape}")
    if k.shape[1] != channels:
        raise ChainruleError(
            f"each filter has {k.shape[1]} channel(s) (kernel shape {k.shape}) but the input has {channels}"
        )
    return k


def _array(value, what: str) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":  # a .npy file of complex numbers
        raise ChainruleError(f"{what} has complex numbers; the worksheet takes real numbers")
    try:
        a = np.array(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ChainruleError(
            f"{what} must be a rectangular nested list of numbers (rows of equal "
            "length); got a ragged or non-numeric list"
        ) from None
    if a.size == 0:
        raise ChainruleError(f"{what} is empty")
    if not np.all(np.isfinite(a)):
        raise ChainruleError(f"{what} contains NaN or infinity")
    return a


@dataclass
class ConvWorksheet:
    """The engine's values for one image through one Conv2d (float64), and how to write them."""

    x: np.ndarray  # (C, H, W) the input
    kernel: np.ndarray  # (O, C, KH, KW) as given
    used: np.ndarray  # (O, C, KH, KW) what slides over the input (rot180(kernel) with flip)
    bias: np.ndarray | None  # (O,)
    layer: Conv2d
    pads: tuple  # (top, bottom, left, right)
    xp: np.ndarray  # (C, Hp, Wp) the padded input
    patches: np.ndarray  # (C·KH·KW, OH·OW) the engine's patch matrix
    y: np.ndarray  # (O, OH, OW)
    flip: bool = False
    g: np.ndarray | None = None  # (O, OH, OW) ∂ℓ/∂Y
    grad_input: np.ndarray | None = None  # (C, H, W)
    grad_kernel: np.ndarray | None = None  # (O, C, KH, KW), for the kernel as given
    grad_bias: np.ndarray | None = None  # (O,)
    g_assumed: bool = False

    # --- shapes and indices ----------------------------------------------------------------------
    @property
    def shape(self):
        O, C, kh, kw = self.used.shape
        return O, C, kh, kw, self.y.shape[1], self.y.shape[2]

    def window_value(self, c: int, u: int, v: int, i: int, j: int) -> float:
        """Xp[c, i·S + u·D, j·S + v·D], read from the engine's patch matrix."""
        _, _, kh, kw, _, ow = self.shape
        return float(self.patches[(c * kh + u) * kw + v, i * ow + j])

    def forward_terms(self, o: int, i: int, j: int) -> list[tuple[float, float, tuple]]:
        """[(F'[o,c,u,v], Xp value, (c, u, v))] of output cell (o, i, j), in the window's order."""
        _, C, kh, kw, _, _ = self.shape
        return [
            (float(self.used[o, c, u, v]), self.window_value(c, u, v, i, j), (c, u, v))
            for c in range(C)
            for u in range(kh)
            for v in range(kw)
        ]

    def kernel_grad_terms(self, o: int, c: int, u: int, v: int) -> list[tuple[float, float, tuple]]:
        """[(G[o,i,j], Xp value, (i, j))] whose sum is ∂ℓ/∂F[o, c, u, v] (the kernel as given)."""
        _, _, kh, kw, oh, ow = self.shape
        uu, vv = (kh - 1 - u, kw - 1 - v) if self.flip else (u, v)
        return [
            (float(self.g[o, i, j]), self.window_value(c, uu, vv, i, j), (i, j)) for i in range(oh) for j in range(ow)
        ]

    def input_grad_terms(self, c: int, r: int, s: int) -> list[tuple[float, float, tuple]]:
        """[(G[o,i,j], F'[o,c,u,v], (o, i, j, u, v))] whose sum is ∂ℓ/∂X[c, r, s]."""
        O, _, kh, kw, oh, ow = self.shape
        (sh, sw), (dh, dw) = self.layer.stride, self.layer.dilation
        t, left = self.pads[0], self.pads[2]
        terms = []
        for o in range(O):
            for i in range(oh):
                for j in range(ow):
                    du, dv = r + t - i * sh, s + left - j * sw
                    if du % dh or dv % dw:
                        continue
                    u, v = du // dh, dv // dw
                    if 0 <= u < kh and 0 <= v < kw:
                        terms.append((float(self.g[o, i, j]), float(self.used[o, c, u, v]), (o, i, j, u, v)))
        return terms

    # --- output ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        out = {
            "operation": "convolution" if self.flip else "cross-correlation",
            "input": self.x.tolist(),
            "kernel": self.kernel.tolist(),
            "kernel_applied": self.used.tolist(),
            "bias": None if self.bias is None else self.bias.tolist(),
            "stride": list(self.layer.stride),
            "dilation": list(self.layer.dilation),
            "padding": list(self.pads),
            "padded_input": self.xp.tolist(),
            "output": self.y.tolist(),
        }
        if self.g is not None:
            out.update(
                grad_output=self.g.tolist(),
                grad_output_assumed=self.g_assumed,
                grad_input=self.grad_input.tolist(),
                grad_kernel=self.grad_kernel.tolist(),
                grad_bias=None if self.grad_bias is None else self.grad_bias.tolist(),
            )
        return out

    def document(self, max_cells: int = 64) -> Document:
        return _Writer(self, max_cells).document()

    def render(self, fmt: str = "text", decimals: int = 5, max_cells: int = 64, standalone: bool = False) -> str:
        if fmt == "json":
            return json.dumps(self.to_dict()) + "\n"
        return render_document(self.document(max_cells), fmt, NumberFormat(decimals), standalone=standalone)

    def png(self, path, cell=(0, 0), filt: int = 0, channel: int = 0) -> None:
        from chainrule.explain.convolution_png import draw

        draw(self, path, cell, filt, channel)


def conv_worksheet(
    x, kernel, stride=1, padding=0, dilation=1, bias=None, grad_output=None, backward: bool = False, flip: bool = False
) -> ConvWorksheet:
    """Run the engine on one image and keep what the worksheet prints (see the module docstring).

    x : (H, W) or (C, H, W);  kernel : (KH, KW), (C, KH, KW), (O, KH, KW) or (O, C, KH, KW);
    bias : (O,) or None;  grad_output : (OH, OW) or (O, OH, OW) — with ``backward`` and no
    grad_output, G = 1 everywhere (ℓ = ΣY).
    """
    x = as_image(x)
    k = as_kernels(kernel, x.shape[0])
    O, C, kh, kw = k.shape
    used = np.ascontiguousarray(k[:, :, ::-1, ::-1]) if flip else k
    b = None
    if bias is not None:
        b = _array(bias, "bias").reshape(-1)
        if b.size != O:
            raise ChainruleError(f"bias has {b.size} value(s) but there are {O} filter(s): one bias per filter")
    layer = Conv2d(C, O, (kh, kw), stride=stride, padding=padding, dilation=dilation, bias=b is not None, rng=0)
    layer.path = "im2col"  # its patch matrix is the worksheet's source of window values
    layer.weight.data[...] = used
    if b is not None:
        layer.bias.data[...] = b
    with np.errstate(all="ignore"):  # an overflow is one error below, not a RuntimeWarning
        y = layer.forward(x[None])[0]
    _check_finite(y, "the output Y")
    pads = layer.last_pads  # what the forward just padded with, not computed again
    ws = ConvWorksheet(
        x=x,
        kernel=k,
        used=used,
        bias=b,
        layer=layer,
        pads=pads,
        xp=win.pad(x, pads),
        patches=layer.patch_matrix[0, 0],
        y=y,
        flip=flip,
    )
    if backward or grad_output is not None:
        if grad_output is None:
            g, ws.g_assumed = np.ones_like(y), True
        else:
            g = given = _array(grad_output, "grad-output")
            if g.ndim == 2 and O == 1:
                g = g[None]
            if g.shape != y.shape:
                want = "×".join(map(str, y.shape[1:])) if O == 1 else "×".join(map(str, y.shape))
                got = "×".join(map(str, given.shape)) or "a single number"
                raise ChainruleError(
                    f"grad-output is {got} but the output Y is {want}; ∂ℓ/∂Y has one entry per output cell"
                )
        layer.zero_grad()
        ws.g = g
        with np.errstate(all="ignore"):
            ws.grad_input = layer.backward(g[None])[0]
        gw = layer.weight.grad
        _check_finite(ws.grad_input, "∂ℓ/∂X")
        _check_finite(gw, "∂ℓ/∂F")
        ws.grad_kernel = np.ascontiguousarray(gw[:, :, ::-1, ::-1]) if flip else gw.copy()
        ws.grad_bias = None if b is None else layer.bias.grad.copy()
    return ws


def _check_finite(v: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(v)):
        raise ChainruleError(f"{what} overflows float64 (it has an infinite value); use smaller numbers")


class _Writer:
    """ConvWorksheet -> Document (symbols 1-based, as on the board)."""

    def __init__(self, ws: ConvWorksheet, max_cells: int):
        self.ws, self.max = ws, max_cells
        O, C, *_ = ws.shape
        self.multi_o, self.multi_c = O > 1, C > 1

    # symbols
    def X(self, c, *idx, hat=False):
        name = ("X̃", r"\tilde{X}") if hat else ("X", "X")
        return sym(*name, *idx, layer=c + 1 if self.multi_c else None)

    def F(self, o, c=None, *idx, rot=False):
        t, lx = ("F'", "F'") if rot else ("F", "F")
        index = ((c + 1,) if self.multi_c and c is not None else ()) + idx
        return sym(t, lx, *index, layer=o + 1 if self.multi_o else None)

    def Y(self, o, *idx):
        return sym("Y", "Y", *idx, layer=o + 1 if self.multi_o else None)

    def G(self, o):
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

    def setup(self, doc):
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

    def forward(self, doc):
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
                    where = _corner(i, j, oh, ow)
                    notes.append(
                        Prose(
                            f"{where}window rows {r0}-{r0 + dh * (kh - 1)}, columns "
                            f"{c0}-{c0 + dw * (kw - 1)} of the {'padded ' if any(ws.pads) else ''}input"
                        )
                    )
        doc.add(Equations(rows, notes))
        self._more(doc, O * oh * ow, shown, "output cells")
        doc.add(Equations([(self.Y(o), Mat(ws.y[o])) for o in range(O)]))

    def backward(self, doc):
        ws = self.ws
        O, C, kh, kw, oh, ow = ws.shape
        (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
        doc.add(Heading("Backward"))
        if ws.g_assumed:
            doc.add(Prose("No gradient given: taking l = sum of all Y, so every entry of dl/dY is 1."))
        doc.add(Equations([(self.G(o), Mat(ws.g[o])) for o in range(O)]))

        doc.add(Heading("Gradient of the kernel: the padded input correlated with the output gradient", 2))
        doc.add(
            Prose(
                "Each kernel entry multiplied every input value its position visited; the gradient sums those "
                "values weighted by the output gradient."
            )
        )
        rows, shown = [], 0
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
                                Num(ws.grad_kernel[o, c, u, v]),
                            )
                        )
        doc.add(Equations(rows))
        self._more(doc, O * C * kh * kw, shown, "kernel entries")
        doc.add(
            Equations(
                [
                    (d(ELL, self.F(o, c if self.multi_c else None)), Mat(ws.grad_kernel[o, c]))
                    for o in range(O)
                    for c in range(C)
                ]
            )
        )
        if ws.bias is not None:
            doc.add(Prose("The bias is added to every output cell of its filter, so its gradient is the sum of dl/dY:"))
            doc.add(
                Equations([(d(ELL, sym("b", "b", o + 1)), Row(SUM, self.G(o)), Num(ws.grad_bias[o])) for o in range(O)])
            )

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
        rows, notes, shown = [], [], 0
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
                    rows.append((lhs, rhs, Num(ws.grad_input[c, r, s])))
                    notes.append(None)
        doc.add(Equations(rows, notes))
        self._more(doc, C * H * W, shown, "input cells")
        doc.add(Equations([(d(ELL, self.X(c)), Mat(ws.grad_input[c])) for c in range(C)]))

    def _g_tilde(self, o: int) -> np.ndarray:
        """∂ℓ/∂Y of filter o spread out by the stride and zero-padded by the kernel's extent − 1."""
        ws = self.ws
        _, _, kh, kw, oh, ow = ws.shape
        (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
        eh, ew = dh * (kh - 1), dw * (kw - 1)
        Hp, Wp = ws.xp.shape[1:]
        out = np.zeros((Hp + eh, Wp + ew))
        out[eh : eh + sh * (oh - 1) + 1 : sh, ew : ew + sw * (ow - 1) + 1 : sw] = ws.g[o]
        return out

    def _more(self, doc, total, shown, what):
        if total > shown:
            doc.add(Prose(f"... {total - shown} more {what} (raise --cells to show them)."))


def _corner(i, j, oh, ow) -> str:
    """'top left: ' for the corner cells of a grid with more than one row and column, else ''."""
    if oh < 2 or ow < 2 or i not in (0, oh - 1) or j not in (0, ow - 1):
        return ""
    return f"{'top' if i == 0 else 'bottom'} {'left' if j == 0 else 'right'}: "
