"""Plain Unicode text for a terminal: equations on one line, matrices drawn over several.

Each maths node becomes a ``Box`` (lines of equal display width and a baseline row); boxes placed side
by side line up on their baselines, so ``a = x̂ αᵀ = [1 0 1] ⎡…⎤ = [2 2 0]`` reads as on the board.
"""

import unicodedata
from dataclasses import dataclass

import numpy as np

from chainrule.explain.approx import relations
from chainrule.explain.doc import (
    Call,
    Document,
    Equations,
    Frac,
    Heading,
    Mat,
    Node,
    Num,
    Op,
    Paren,
    Power,
    Prose,
    Row,
    Sym,
    sup_text,
)
from chainrule.explain.numbers import MINUS, NumberFormat


def width(s: str) -> int:
    """Display width: combining marks (the hat of x̂) take no column."""
    return sum(0 if unicodedata.combining(c) else 1 for c in s)


@dataclass
class Box:
    lines: list[str]
    base: int = 0

    @property
    def w(self) -> int:
        return max((width(s) for s in self.lines), default=0)

    def padded(self) -> list[str]:
        w = self.w
        return [s + " " * (w - width(s)) for s in self.lines]


def hcat(*boxes: Box) -> Box:
    """Boxes side by side, aligned on their baselines."""
    above = max(b.base for b in boxes)
    below = max(len(b.lines) - b.base - 1 for b in boxes)
    rows = [""] * (above + below + 1)
    for b in boxes:
        lines, w = b.padded(), b.w
        top = above - b.base
        for r in range(len(rows)):
            i = r - top
            rows[r] += lines[i] if 0 <= i < len(lines) else " " * w
    return Box([r.rstrip() if i != above else r for i, r in enumerate(rows)], above)


def _strip(box: Box) -> Box:
    return Box([s.rstrip() for s in box.lines], box.base)


def _matrix(a: np.ndarray, fmt: NumberFormat) -> Box:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        return Box(["[" + " ".join(fmt.text(v) for v in a) + "]"])
    if a.shape[0] == 1:
        return Box(["[" + " ".join(fmt.text(v) for v in a[0]) + "]"])
    cells = [[fmt.text(v) for v in row] for row in a]
    widths = [max(len(r[j]) for r in cells) for j in range(a.shape[1])]
    body = [" ".join(c.rjust(widths[j]) for j, c in enumerate(r)) for r in cells]
    n = len(body)
    lines = []
    for i, s in enumerate(body):
        left, right = ("⎡", "⎤") if i == 0 else (("⎣", "⎦") if i == n - 1 else ("⎢", "⎥"))
        lines.append(f"{left}{s}{right}")
    return Box(lines, (n - 1) // 2)


def _compound(node: Node) -> bool:
    return isinstance(node, Row) and len(node.items) > 1


def box(node: Node, fmt: NumberFormat, inner: bool = False) -> Box:
    """``inner``: the node follows something on its line, so a leading negative number is parenthesised."""
    if isinstance(node, Sym):
        return Box([node.text])
    if isinstance(node, Num):
        s = fmt.text(node.value)
        return Box([f"({s})" if inner and s.startswith(("-", MINUS)) else s])
    if isinstance(node, Mat):
        return _matrix(node.array, fmt)
    if isinstance(node, Op):
        return Box([f" {node.text} " if node.text != "," else ", "])
    if isinstance(node, Row):
        parts = []
        for i, item in enumerate(node.items):
            b = box(item, fmt, inner=inner or i > 0)
            if i > 0 and not isinstance(item, Op) and not isinstance(node.items[i - 1], Op):
                parts.append(Box([" "]))  # juxtaposition (a product): a space, as on the board
            parts.append(b)
        return hcat(*parts) if parts else Box([""])
    if isinstance(node, Frac):
        num, den = box(node.num, fmt), box(node.den, fmt)
        if _compound(node.num):
            num = hcat(Box(["("]), num, Box([")"]))
        if _compound(node.den):
            den = hcat(Box(["("]), den, Box([")"]))
        return hcat(num, Box(["/"]), den)
    if isinstance(node, Call):
        return hcat(box(node.name, fmt), Box(["("]), box(node.arg, fmt), Box([")"]))
    if isinstance(node, Paren):
        return hcat(Box(["("]), box(node.item, fmt), Box([")"]))
    if isinstance(node, Power):
        base = box(node.base, fmt)
        if (
            isinstance(node.base, Num)
            and fmt.text(node.base.value).startswith(("-", MINUS))
            or isinstance(node.base, (Row, Frac))
        ):
            base = hcat(Box(["("]), base, Box([")"]))
        sup = "ᵀ" if node.exp == "T" else sup_text(node.exp)
        return hcat(base, Box([sup]))
    raise TypeError(f"cannot render {node!r}")


def _prose(p: Prose, fmt: NumberFormat) -> str:
    return "".join(part if isinstance(part, str) else " ".join(box(part, fmt).lines) for part in p.parts)


def _equations(eq: Equations, fmt: NumberFormat) -> list[str]:
    lhs = [box(row[0], fmt) for row in eq.rows]
    lw = max((b.w for b in lhs if len(b.lines) == 1), default=0)
    out = []
    for i, row in enumerate(eq.rows):
        left = lhs[i]
        if len(left.lines) == 1:
            left = Box([left.lines[0] + " " * (lw - left.w)])
        parts = [left]
        for rel, rhs in zip(relations(row, fmt), row[1:], strict=True):
            parts += [Box([f" {rel} "]), box(rhs, fmt)]
        note = eq.note(i)
        if note is not None:
            parts.append(Box(["    " + _prose(note, fmt)]))
        out += _strip(hcat(*parts)).lines
    return out


def render_text(doc: Document, fmt: NumberFormat) -> str:
    out: list[str] = []
    if doc.title:
        out += [doc.title, "=" * width(doc.title), ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            if out and out[-1] != "":
                out.append("")
            out += [block.text, ("=" if block.level == 1 else "-") * width(block.text)]
        elif isinstance(block, Prose):
            out.append(_prose(block, fmt))
        elif isinstance(block, Equations):
            out += _equations(block, fmt)
        else:
            raise TypeError(f"unknown block {block!r}")
    return "\n".join(out).rstrip() + "\n"
