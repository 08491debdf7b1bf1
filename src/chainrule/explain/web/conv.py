"""``conv``'s web page: the input, kernel and output grids on top, the worksheet below; each line lights
the cells its sum reads (the window under the kernel for Y, every position an entry visited for ∂ℓ/∂F,
every window that held a cell for ∂ℓ/∂X), and stepping walks the cells forward, then backward.

    html = conv_page(conv_worksheet(X, F, backward=True))

Grid cells carry canonical names, always with every index (1-based, as printed): ``X[c,i,j]`` (a padding
cell ``Xpad[c,r,s]`` in padded coordinates), ``F[o,c,u,v]``, ``Y[o,i,j]``, ``dl/dY[o,i,j]``,
``dl/dF[o,c,u,v]``, ``dl/dX[c,i,j]``. A line's quantity name (the worksheet's qid: ``Y[1,2]``,
``Y2[1,1]`` for filter 2, ``dl/dF1[1,2,2]``) is read as these letters; the cells it lights come from
the worksheet's own term lists (``forward_terms``, ``kernel_grad_terms``, ``input_grad_terms``), so
nothing is worked out twice.
"""

import re
from html import escape
from typing import Any

import numpy as np

from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render_html import render_html
from chainrule.explain.web.page import page

_QID = re.compile(r"^(dl/d)?(X|F|Y)(\d*)(?:\[([\d,]+)\])?$")


def _name(kind: str, *index: int) -> str:
    return f"{kind}[{','.join(str(k + 1) for k in index)}]"


class _Cells:
    """Which grid cells a worksheet line reads, from the worksheet's term lists."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.O, self.C, self.kh, self.kw, self.oh, self.ow = ws.shape
        (self.sh, self.sw), (self.dh, self.dw) = ws.layer.stride, ws.layer.dilation
        self.top, self.left = ws.pads[0], ws.pads[2]

    def x(self, c: int, r: int, s: int) -> str:
        """The input cell at padded position (r, s)."""
        i, j = r - self.top, s - self.left
        H, W = self.ws.x.shape[1:]
        return _name("X", c, i, j) if 0 <= i < H and 0 <= j < W else _name("Xpad", c, r, s)

    def kernel_index(self, u: int, v: int) -> tuple[int, int]:
        """The kernel-as-given index of the slid kernel's (u, v) (rotated with --flip)."""
        return (self.kh - 1 - u, self.kw - 1 - v) if self.ws.flip else (u, v)

    def output(self, o: int, i: int, j: int) -> list[str]:
        out = [_name("Y", o, i, j)]
        for _, _, (c, u, v) in self.ws.forward_terms(o, i, j):
            out.append(self.x(c, i * self.sh + u * self.dh, j * self.sw + v * self.dw))
            out.append(_name("F", o, c, *self.kernel_index(u, v)))
        return out

    def kernel_grad(self, o: int, c: int, u: int, v: int) -> list[str]:
        out = [_name("dl/dF", o, c, u, v), _name("F", o, c, u, v)]
        uu, vv = self.kernel_index(u, v)
        for _, _, (i, j) in self.ws.kernel_grad_terms(o, c, u, v):
            out += [_name("dl/dY", o, i, j), self.x(c, i * self.sh + uu * self.dh, j * self.sw + vv * self.dw)]
        return out

    def input_grad(self, c: int, r: int, s: int) -> list[str]:
        out = [_name("dl/dX", c, r, s), _name("X", c, r, s)]
        for _, _, (o, i, j, u, v) in self.ws.input_grad_terms(c, r, s):
            out += [_name("dl/dY", o, i, j), _name("F", o, c, *self.kernel_index(u, v))]
        return out

    def items(self, qid: str) -> list[str]:
        m = _QID.match(qid)
        if not m:
            return []
        grad, kind, sup, idx = m.groups()
        first = int(sup) - 1 if sup else None  # the superscript: the filter (Y, F) or the channel (X)
        ix = [int(k) - 1 for k in idx.split(",")] if idx else []
        if kind == "Y":
            o = first if first is not None else (ix.pop(0) if len(ix) == 3 else 0)
            if len(ix) == 2:
                return [_name("dl/dY", o, *ix)] if grad else self.output(o, *ix)
            return [_name("dl/dY" if grad else "Y", o, i, j) for i in range(self.oh) for j in range(self.ow)]
        if kind == "X":
            c = first if first is not None else (ix.pop(0) if len(ix) == 3 else 0)
            if len(ix) == 2:
                return self.input_grad(c, *ix) if grad else [_name("X", c, *ix)]
            H, W = self.ws.x.shape[1:]
            return [_name("dl/dX" if grad else "X", c, i, j) for i in range(H) for j in range(W)]
        o = first if first is not None else (ix.pop(0) if len(ix) == 4 or (len(ix) == 3 and self.C == 1) else 0)
        c = ix.pop(0) if len(ix) in (1, 3) else 0
        if len(ix) == 2:
            return self.kernel_grad(o, c, *ix) if grad else [_name("F", o, c, *ix)]
        cs = [c] if idx else range(self.C)
        return [
            _name("dl/dF" if grad else "F", o, cc, u, v) for cc in cs for u in range(self.kh) for v in range(self.kw)
        ]


def _grid(caption: str, values: np.ndarray, names: Any, fmt: NumberFormat, pad: Any = None) -> str:
    """One matrix as a table; ``names(r, s)`` is each cell's name, ``pad(r, s)`` True for a padding cell."""
    rows = []
    for r in range(values.shape[0]):
        cells = []
        for s in range(values.shape[1]):
            cls = ' class="pad"' if pad is not None and pad(r, s) else ""
            cells.append(f'<td{cls} data-qid="{escape(names(r, s))}">{escape(fmt.text(values[r, s]))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><caption>{escape(caption)}</caption>" + "".join(rows) + "</table>"


def _grids(ws: Any, cells: _Cells, fmt: NumberFormat) -> str:
    O, C = cells.O, cells.C
    H, W = ws.x.shape[1:]

    def ch(k: int, n: int, what: str) -> str:
        return f", {what} {k + 1}" if n > 1 else ""

    def pad(r: int, s: int) -> bool:
        return not (0 <= r - cells.top < H and 0 <= s - cells.left < W)

    padded = " (padded)" if any(ws.pads) else ""
    top = [
        _grid(f"X{padded}{ch(c, C, 'channel')}", ws.xp[c], lambda r, s, c=c: cells.x(c, r, s), fmt, pad)
        for c in range(C)
    ]
    top += [
        _grid(
            f"F{ch(o, O, 'filter')}{ch(c, C, 'channel')}",
            ws.kernel[o, c],
            lambda u, v, o=o, c=c: _name("F", o, c, u, v),
            fmt,
        )
        for o in range(O)
        for c in range(C)
    ]
    top += [_grid(f"Y{ch(o, O, 'filter')}", ws.y[o], lambda i, j, o=o: _name("Y", o, i, j), fmt) for o in range(O)]
    out = ['<div class="grids">' + "".join(top) + "</div>"]
    if ws.g is not None:
        low = [
            _grid(f"∂ℓ/∂Y{ch(o, O, 'filter')}", ws.g[o], lambda i, j, o=o: _name("dl/dY", o, i, j), fmt)
            for o in range(O)
        ]
        low += [
            _grid(
                f"∂ℓ/∂F{ch(o, O, 'filter')}{ch(c, C, 'channel')}",
                ws.grad_kernel[o, c],
                lambda u, v, o=o, c=c: _name("dl/dF", o, c, u, v),
                fmt,
            )
            for o in range(O)
            for c in range(C)
        ]
        low += [
            _grid(f"∂ℓ/∂X{ch(c, C, 'channel')}", ws.grad_input[c], lambda i, j, c=c: _name("dl/dX", c, i, j), fmt)
            for c in range(C)
        ]
        out.append('<div class="grids">' + "".join(low) + "</div>")
    return "\n".join(out)


def conv_page(ws: Any, decimals: int = 5, max_cells: int = 64) -> str:
    """The worksheet ``ws`` (``conv_worksheet``'s result) as one self-contained page."""
    fmt = NumberFormat(decimals)
    cells = _Cells(ws)
    doc = ws.document(max_cells)

    def links(qid: str, section: str) -> dict[str, str]:
        phase = "backward" if "gradient" in section.lower() or "backward" in section.lower() else "forward"
        return {"data-items": " ".join(dict.fromkeys(cells.items(qid))), "data-phase": phase}

    return page(doc.title or "Convolution worksheet", _grids(ws, cells, fmt), render_html(doc, fmt, links))
