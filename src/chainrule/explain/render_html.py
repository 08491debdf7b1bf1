"""HTML with MathML: a ``Document`` as a fragment of a web page (no script, no style, no external file).

Each equation group is a ``<table class="eqs">`` whose rows are the lines, aligned on their first "=":
``<tr class="line" data-qid="z[1]">`` (the quantity name of ``Equations.qid``), each side an inline
``<math>``. ``links(qid, section)`` may add more attributes to a line (the page adds the picture's elements the
line computes). Numbers are written by the one ``NumberFormat``; symbols keep their printed text, split
into MathML base, subscript and superscript (α⁽²⁾₁,₀ -> <msubsup>), so a browser typesets them.
"""

import re
from collections.abc import Callable
from html import escape

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
)
from chainrule.explain.numbers import NumberFormat

_PLAIN = str.maketrans(
    {
        **{c: str(k) for k, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
        **{c: str(k) for k, c in enumerate("₀₁₂₃₄₅₆₇₈₉")},
        "ᵢ": "i",
        "ⱼ": "j",
        "ₖ": "k",
        "₊": "+",
        "₋": "-",
    }
)
# ∂? base, a combining hat, a layer superscript ⁽²⁾, a subscript of digits/i,j,k and commas
_SYM = re.compile("^(∂?)(ŷ|[^\u0302⁽₀-₉ᵢⱼₖ]+?)(\u0302?)(⁽[⁰-⁹]+⁾)?([₀-₉ᵢⱼₖ,₊₋]*)$")


def _mi(text: str, bold: bool = False) -> str:
    cls = ' class="bold"' if bold else ""  # MathML Core has no mathvariant="bold": the page's style sets it
    return f"<mi{cls}>{escape(text)}</mi>"


def _sym(s: Sym) -> str:
    m = _SYM.match(s.text)
    if not m or not s.text:
        return f"<mi>{escape(s.text)}</mi>" if s.text else "<mrow></mrow>"
    partial, base, hat, layer, index = m.groups()
    bold = "mathbf" in s.latex or "boldsymbol" in s.latex
    if base == "ŷ":
        base, hat = "y", "\u0302"
    if base in ("Σ", "½", "->"):
        core = f"<mo>{escape({'->': '→'}.get(base, base))}</mo>"
    else:
        core = _mi(base, bold)
    if hat:
        core = f'<mover accent="true">{core}<mo>^</mo></mover>'
    sup = f"<mrow><mo>(</mo><mn>{layer[1:-1].translate(_PLAIN)}</mn><mo>)</mo></mrow>" if layer else ""
    sub = f"<mrow>{_index(index.translate(_PLAIN))}</mrow>" if index else ""
    if sup and sub:
        core = f"<msubsup>{core}{sub}{sup}</msubsup>"
    elif sup:
        core = f"<msup>{core}{sup}</msup>"
    elif sub:
        core = f"<msub>{core}{sub}</msub>"
    return f"<mrow><mo>∂</mo>{core}</mrow>" if partial else core


def _index(idx: str) -> str:
    parts = []
    for k, p in enumerate(idx.split(",")):
        if k:
            parts.append('<mo separator="true">,</mo>')
        parts.append(f"<mn>{p}</mn>" if p.isdigit() else f"<mi>{escape(p)}</mi>")
    return "".join(parts)


def _num(v: float, fmt: NumberFormat, inner: bool = False) -> str:
    m, e = fmt.parts(v)
    if m in ("inf", "-inf", "nan"):
        s = {"inf": "<mi>∞</mi>", "-inf": "<mo>−</mo><mi>∞</mi>", "nan": "<mi>NaN</mi>"}[m]
    elif e is None:
        s = f"<mn>{m}</mn>"
    else:
        s = f"<mn>{m}</mn><mo>×</mo><msup><mn>10</mn><mn>{e}</mn></msup>"
    if inner and m.startswith("-"):
        return _paren(s)
    return f"<mrow>{s}</mrow>" if e is not None else s


def _matrix(a: np.ndarray, fmt: NumberFormat) -> str:
    a = np.asarray(a, dtype=float)
    rows = [a] if a.ndim == 1 else list(a)
    body = "".join("<mtr>" + "".join(f"<mtd>{_num(v, fmt)}</mtd>" for v in r) + "</mtr>" for r in rows)
    return f'<mrow><mo>[</mo><mtable class="mat">{body}</mtable><mo>]</mo></mrow>'


OPEN, CLOSE = '<mo lspace="0" rspace="0">(</mo>', '<mo lspace="0" rspace="0">)</mo>'


def _paren(inner: str) -> str:
    return f"<mrow>{OPEN}{inner}{CLOSE}</mrow>"


def mathml(node: Node, fmt: NumberFormat, inner: bool = False) -> str:
    """The MathML of a maths node (no surrounding <math>); ``inner``: parenthesise a leading negative."""
    if isinstance(node, Sym):
        return _sym(node)
    if isinstance(node, Num):
        return _num(node.value, fmt, inner)
    if isinstance(node, Mat):
        return _matrix(node.array, fmt)
    if isinstance(node, Op):
        return f"<mo>{escape(node.text)}</mo>"
    if isinstance(node, Row):
        out = []
        for i, item in enumerate(node.items):
            if i and not isinstance(item, Op) and not isinstance(node.items[i - 1], Op):
                out.append('<mspace width="0.3em"></mspace>')  # juxtaposition (a product), as on the board
            out.append(mathml(item, fmt, inner=inner or i > 0))
        return "<mrow>" + "".join(out) + "</mrow>"
    if isinstance(node, Frac):
        return f"<mfrac>{mathml(node.num, fmt)}{mathml(node.den, fmt)}</mfrac>"
    if isinstance(node, Call):
        if node.name.text == "√":
            return f"<msqrt>{mathml(node.arg, fmt)}</msqrt>"
        return f"<mrow>{mathml(node.name, fmt)}{_paren(mathml(node.arg, fmt))}</mrow>"
    if isinstance(node, Paren):
        return _paren(mathml(node.item, fmt))
    if isinstance(node, Power):
        base = mathml(node.base, fmt)
        if isinstance(node.base, (Row, Frac)) or (isinstance(node.base, Num) and fmt.text(node.base.value)[0] == "-"):
            base = _paren(base)
        exp = "<mi>T</mi>" if node.exp == "T" else f"<mn>{escape(node.exp)}</mn>"
        return f"<msup>{base}{exp}</msup>"
    raise TypeError(f"cannot render {node!r}")


def inline(node: Node, fmt: NumberFormat) -> str:
    return f"<math>{mathml(node, fmt)}</math>"


def _prose(p: Prose, fmt: NumberFormat) -> str:
    return "".join(escape(part) if isinstance(part, str) else inline(part, fmt) for part in p.parts)


Links = Callable[[str, str], dict[str, str]]


def _equations(eq: Equations, fmt: NumberFormat, links: Links, section: str) -> str:
    rows = []
    for i, row in enumerate(eq.rows):
        qid = eq.qid(i)
        attrs = "".join(f" {k}={_attr(v)}" for k, v in {"data-qid": qid, **links(qid, section)}.items())
        cells = [f'<td class="lhs">{inline(row[0], fmt) if qid_blank(row[0]) else ""}</td>']
        rels = relations(row, fmt)  # "≈" before a result that does not hold on the rounded operands shown
        rhs = "".join(
            (f" <mo>{rel}</mo> " if k else "") + mathml(r, fmt)
            for k, (rel, r) in enumerate(zip(rels, row[1:], strict=True))
        )
        cells.append(f'<td class="rhs"><math><mo>{rels[0]}</mo>{rhs}</math></td>')
        note = eq.note(i)
        cells.append(f'<td class="note">{_prose(note, fmt) if note is not None else ""}</td>')
        rows.append(f'<tr class="line"{attrs}>' + "".join(cells) + "</tr>")
    return '<table class="eqs">\n' + "\n".join(rows) + "\n</table>"


def qid_blank(lhs: Node) -> bool:
    """False for a continuation line's blank left-hand side."""
    return not (isinstance(lhs, Sym) and lhs.text == "")


def _attr(v: str) -> str:
    return '"' + escape(v, quote=True) + '"'


def render_html(doc: Document, fmt: NumberFormat, links: Links | None = None) -> str:
    """The document as an HTML fragment (headings, paragraphs, tables of lines), without the title.

    ``links(qid, section)`` gives extra attributes for a line (``section``: the heading it is under)."""

    def nolinks(qid: str, section: str) -> dict[str, str]:
        return {}

    out, section = [], ""
    for block in doc.blocks:
        if isinstance(block, Heading):
            tag = "h2" if block.level == 1 else "h3"
            out.append(f"<{tag}>{escape(block.text)}</{tag}>")
            section = block.text
        elif isinstance(block, Prose):
            out.append(f"<p>{_prose(block, fmt)}</p>")
        elif isinstance(block, Equations):
            out.append(_equations(block, fmt, links or nolinks, section))
        else:
            raise TypeError(f"unknown block {block!r}")
    return "\n".join(out) + "\n"
