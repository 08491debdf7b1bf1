"""LaTeX (a fragment, or a complete document) and the maths shared with the Markdown renderer.

The fragment needs ``amsmath`` (``align*``, ``bmatrix``) and ``amssymb`` (``\\mathbb{1}``, relu's step);
``standalone=True`` wraps it in an article that compiles with plain pdflatex. Prose is ASCII; special
characters are escaped.
"""

import re

import numpy as np

from chainrule.explain.approx import APPROX, relations
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
)
from chainrule.explain.numbers import NumberFormat

_ESC = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def escape(s: str) -> str:
    return "".join(_ESC.get(c, c) for c in s)


def _num(v: float, fmt: NumberFormat) -> str:
    return fmt.latex(v)


def math(node: Node, fmt: NumberFormat, inner: bool = False) -> str:
    """The LaTeX maths of a node (no surrounding $); ``inner``: parenthesise a leading negative number."""
    if isinstance(node, Sym):
        return node.latex
    if isinstance(node, Num):
        s = _num(node.value, fmt)
        return rf"\left({s}\right)" if inner and s.startswith("-") else s
    if isinstance(node, Mat):
        a = np.asarray(node.array, dtype=float)
        rows = [a] if a.ndim == 1 else list(a)
        body = r" \\ ".join(" & ".join(_num(v, fmt) for v in r) for r in rows)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    if isinstance(node, Op):
        return f" {node.latex} "
    if isinstance(node, Row):
        out: list[str] = []
        for i, item in enumerate(node.items):
            s = math(item, fmt, inner=inner or i > 0)
            if out and isinstance(item, (Sym, Frac, Call, Paren, Power)) and not isinstance(node.items[i - 1], Op):
                s = " " + s
            out.append(s)
        return "".join(out)
    if isinstance(node, Frac):
        return rf"\frac{{{math(node.num, fmt)}}}{{{math(node.den, fmt)}}}"
    if isinstance(node, Call):
        if node.name.latex == r"\sqrt":  # √(…) takes its argument in braces
            return rf"\sqrt{{{math(node.arg, fmt)}}}"
        return rf"{math(node.name, fmt)}\left({math(node.arg, fmt)}\right)"
    if isinstance(node, Paren):
        return rf"\left({math(node.item, fmt)}\right)"
    if isinstance(node, Power):
        base = math(node.base, fmt)
        if isinstance(node.base, (Row, Frac)) or (isinstance(node.base, Num) and base.startswith("-")):
            base = rf"\left({base}\right)"
        elif isinstance(node.base, Sym) and ("_" in base or "^" in base):
            base = "{" + base + "}"
        exp = r"\top" if node.exp == "T" else node.exp
        return f"{base}^{{{exp}}}"
    raise TypeError(f"cannot render {node!r}")


def prose_latex(p: Prose, fmt: NumberFormat) -> str:
    return "".join(escape(part) if isinstance(part, str) else f"${math(part, fmt)}$" for part in p.parts)


def aligned_rows(eq: Equations, fmt: NumberFormat) -> str:
    """``lhs &= r₁ = r₂ \\\\`` lines for align* / aligned."""
    lines = []
    for i, row in enumerate(eq.rows):
        rels = [r"\approx" if r == APPROX else "=" for r in relations(row, fmt)]
        s = math(row[0], fmt) + " &" + "".join(f"{rel} {math(r, fmt)} " for rel, r in zip(rels, row[1:], strict=True))
        s = s.rstrip()
        note = eq.note(i)
        if note is not None:
            s += r" \qquad " + "".join(
                rf"\text{{{escape(p)}}}" if isinstance(p, str) else math(p, fmt) for p in note.parts
            )
        lines.append(s)
    return " \\\\\n".join(lines)


def _matrix_columns(body: str) -> str:
    """Raise amsmath's 10-column matrix limit to the widest matrix in ``body`` (a CNN's flattened vector).

    Only as far as needed: each matrix costs pdflatex time in proportion to the limit (at 1000 a small
    document took 17 s instead of 0.2 s).
    """
    widest = max(
        (
            len(row.split("&"))
            for m in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", body, re.S)
            for row in m.split("\\\\")
        ),
        default=0,
    )
    return f"\\setcounter{{MaxMatrixCols}}{{{widest}}}\n" if widest > 10 else ""


def render_latex(doc: Document, fmt: NumberFormat, standalone: bool = False) -> str:
    out = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(("\\section*{" if block.level == 1 else "\\subsection*{") + escape(block.text) + "}")
        elif isinstance(block, Prose):
            out.append(prose_latex(block, fmt) + "\n")
        elif isinstance(block, Equations):
            out.append("\\begin{align*}\n" + aligned_rows(block, fmt) + "\n\\end{align*}")
        else:
            raise TypeError(f"unknown block {block!r}")
    body = "\n".join(out) + "\n"
    if not standalone:
        return body
    title = f"\\section*{{{doc.title_latex or escape(doc.title)}}}\n" if doc.title else ""
    return (
        "\\documentclass{article}\n\\usepackage[margin=2cm,landscape]{geometry}\n"
        "\\usepackage{amsmath,amssymb}\n\\allowdisplaybreaks\n"
        + _matrix_columns(body)
        + "\\begin{document}\n"
        + title
        + body
        + "\\end{document}\n"
    )
