"""The document model of a worked solution: blocks of prose and equations, maths as a small tree.

An explanation (or any worksheet, e.g. a convolution's) is built once as a ``Document`` and rendered by
four renderers (``render_text``, ``render_markdown``, ``render_latex`` in this package; JSON is the
data itself). Builders never format numbers or write markup: they put ``Num(value)`` / ``Mat(array)``
nodes in the tree and the renderer formats them with one ``NumberFormat``.

Maths nodes (immutable):
    Sym(text, latex)        a symbol: ``Sym("a₁", "a_{1}")`` (use ``sym()`` to build indexed ones)
    Num(value)              a number, written by NumberFormat
    Mat(array)              a 1-D array is a row vector [a b c]; a 2-D array a matrix (n×1: a column)
    Row(*items)             items side by side (a product written by juxtaposition, or a whole expression)
    Op(text, latex)         an operator with spaces around it: PLUS, MINUS, TIMES, HADAMARD, EQ …
    Frac(num, den)          a fraction; in text num/den
    Call(name, arg)         a function applied: tanh(a₁), exp(…); arg is parenthesised
    Paren(item)             (item)
    Power(base, exp)        base raised to a small integer or symbolic exponent: z₁², αᵀ

Blocks:
    Heading(text, level)    a section title (level 1 or 2)
    Prose(*parts)           a sentence: plain ASCII strings and inline maths nodes
    Equations(rows)         aligned lines; each row is a tuple (lhs, rhs₁, rhs₂, …) printed
                            lhs = rhs₁ = rhs₂ …, with an optional trailing note (Prose parts) per row

Example::

    from chainrule.explain.doc import Document, Equations, Heading, Num, Op, Row, sym
    a1 = sym("a", "a", 1)
    doc = Document([Heading("Forward", 2), Equations([(a1, Row(Num(1), Op.TIMES, Num(2)), Num(2))])])
    print(render_text(doc, NumberFormat(5)))       # a₁ = 1 · 2 = 2
"""

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

# --- maths -----------------------------------------------------------------------------------------


class Node:
    """Base of maths nodes."""


@dataclass(frozen=True)
class Sym(Node):
    text: str
    latex: str


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True, eq=False)
class Mat(Node):
    array: np.ndarray


@dataclass(frozen=True)
class Row(Node):
    items: tuple

    def __init__(self, *items: Any) -> None:
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True)
class Op(Node):
    text: str
    latex: str

    # The shared operators, set just below (ClassVar: not dataclass fields).
    PLUS: ClassVar["Op"]
    MINUS: ClassVar["Op"]
    TIMES: ClassVar["Op"]
    HADAMARD: ClassVar["Op"]
    EQ: ClassVar["Op"]
    GT: ClassVar["Op"]
    COMMA: ClassVar["Op"]


Op.PLUS = Op("+", "+")
Op.MINUS = Op("−", "-")
Op.TIMES = Op("·", r"\cdot")
Op.HADAMARD = Op("⊙", r"\odot")
Op.EQ = Op("=", "=")
Op.GT = Op(">", ">")
Op.COMMA = Op(",", ",")


@dataclass(frozen=True)
class Frac(Node):
    num: Node
    den: Node


@dataclass(frozen=True)
class Call(Node):
    name: Sym
    arg: Node


@dataclass(frozen=True)
class Paren(Node):
    item: Node


@dataclass(frozen=True)
class Power(Node):
    base: Node
    exp: str  # text: "2", "T"; rendered as ² / ᵀ and ^{2} / ^{\top}


_SUB = str.maketrans("0123456789,+-()ijk", "₀₁₂₃₄₅₆₇₈₉,₊₋₍₎ᵢⱼₖ")
_SUP = str.maketrans("0123456789+-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾")


def sub_text(s: str) -> str:
    """Unicode subscript of digits, commas and i, j, k ("1,2" -> "₁,₂")."""
    return str(s).translate(_SUB)


def sup_text(s: str) -> str:
    return str(s).translate(_SUP)


def sym(text: str, latex: str, *index: Any, layer: int | None = None, hat: bool = False, bold: bool = False) -> Sym:
    """An indexed symbol: ``sym("α", r"\\alpha", 1, 2, layer=3)`` is α⁽³⁾₁,₂ / \\alpha^{(3)}_{1,2}.

    ``hat`` puts a circumflex on it (x̂, the input with x₀ = 1 prepended); ``bold`` marks a vector or
    matrix in LaTeX (text has no bold).
    """
    t, lx = text, latex
    if bold:
        lx = rf"\boldsymbol{{{lx}}}" if lx.startswith("\\") else rf"\mathbf{{{lx}}}"
    if hat:
        t = t + "\u0302" if len(t) == 1 and t != "y" else ("ŷ" if t == "y" else t + "\u0302")
        lx = rf"\hat{{{lx}}}"
    if layer is not None:
        t += sup_text(f"({layer})")
        lx += f"^{{({layer})}}"
    if index:
        idx = ",".join(str(i) for i in index)
        t += sub_text(idx)
        lx += f"_{{{idx}}}"
    return Sym(t, lx)


def d(num: Sym, den: Sym) -> Frac:
    """∂num/∂den."""
    return Frac(Sym("∂" + num.text, r"\partial " + num.latex), Sym("∂" + den.text, r"\partial " + den.latex))


ELL = Sym("ℓ", r"\ell")
HALF = Sym("½", r"\tfrac{1}{2}")
SUM = Sym("Σ", r"\sum")


def product(*factors: Node) -> Row:
    """f₁ · f₂ · … (negative numbers are parenthesised by the renderers)."""
    items: list = []
    for f in factors:
        if items:
            items.append(Op.TIMES)
        items.append(f)
    return Row(*items)


def joined(op: Op, terms: Any) -> Row:
    items: list = []
    for t in terms:
        if items:
            items.append(op)
        items.append(t)
    return Row(*items)


# --- blocks ----------------------------------------------------------------------------------------


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Prose:
    parts: tuple

    def __init__(self, *parts: Any) -> None:
        self.parts = tuple(parts)


@dataclass
class Equations:
    """Aligned lines ``lhs = rhs₁ = rhs₂ …``; ``notes[i]`` (Prose or None) follows line i."""

    rows: list
    notes: list = field(default_factory=list)

    def note(self, i: int) -> Any:
        return self.notes[i] if i < len(self.notes) else None

    def qid(self, i: int) -> str:
        """The canonical quantity name of line i (docs/explain.md, "Quantity names"); a continuation
        line (blank left-hand side) defines the same quantity as the line above it."""
        while i > 0 and qid_of(self.rows[i][0]) == "":
            i -= 1
        return qid_of(self.rows[i][0])

    @property
    def qids(self) -> list[str]:
        return [self.qid(i) for i in range(len(self.rows))]


@dataclass
class Document:
    blocks: list = field(default_factory=list)
    title: str = ""
    title_latex: str = ""  # the title as LaTeX when it holds maths (pdflatex cannot typeset a bare α)

    def add(self, *blocks: Any) -> "Document":
        self.blocks.extend(blocks)
        return self

    def lines_for(self, qid: str) -> list[tuple["Equations", int]]:
        """Every equation line (block, row index) whose quantity name is ``qid``, in document order."""
        return [(b, i) for b in self.blocks if isinstance(b, Equations) for i, q in enumerate(b.qids) if q == qid]

    def qids(self) -> list[str]:
        """The quantity names of every equation line, in document order (repeats kept)."""
        return [q for b in self.blocks if isinstance(b, Equations) for q in b.qids]


# --- quantity names --------------------------------------------------------------------------------
_GREEK = {"α": "alpha", "β": "beta", "ℓ": "loss", "ŷ": "yhat", "γ": "gamma", "δ": "delta", "μ": "mu", "σ²": "var"}
_MARKS = {"\u0303": "tilde", "\u0304": "bar"}  # BatchNorm's output ã and normalised value ā
_DIGITS = str.maketrans(
    {
        **{c: str(k) for k, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
        **{c: str(k) for k, c in enumerate("₀₁₂₃₄₅₆₇₈₉")},
        "ᵢ": "i",
        "ⱼ": "j",
        "ₖ": "k",
    }
)
_SYM = re.compile("^(ŷ|σ²|[A-Za-zαβγδμℓ][\u0303\u0304]?\u0302?)(?:⁽([⁰¹²³⁴⁵⁶⁷⁸⁹]+)⁾)?(⁺?)([₀₁₂₃₄₅₆₇₈₉ᵢⱼₖ,]*)$")
_STEP = re.compile("^ℓ after step ([0-9]+)$")  # --steps: the loss after step k, qid loss@k


def _plain(text: str) -> str:
    """One printed symbol as its ASCII name: α⁽²⁾₁,₀ -> alpha2[1,0], ŷ₁ -> yhat[1], ℓ -> loss."""
    step = _STEP.match(text)
    if step:
        return f"loss@{step.group(1)}"
    m = _SYM.match(text)
    if not m:
        return text
    base, layer, plus, idx = m.groups()  # plus: an updated weight, α⁺ -> alpha+ (docs/explain.md)
    hat = base.endswith("\u0302")  # x̂, ẑ, β̂: the augmented vector / the weights without the bias
    base = base.rstrip("\u0302")
    mark = _MARKS.get(base[-1], "")
    base = base.rstrip("\u0303\u0304")
    name = _GREEK.get(base, base) + mark + ("hat" if hat else "") + (layer.translate(_DIGITS) if layer else "")
    name += "+" if plus else ""
    return name + (f"[{idx.translate(_DIGITS)}]" if idx else "")


def qid_of(node: Any) -> str:
    """The canonical ASCII name of the quantity a left-hand side defines: ``a₁`` -> ``a[1]``,
    ``∂ℓ/∂α₁,₁`` -> ``dl/dalpha[1,1]``, ``∂z₁/∂a₁`` -> ``dz[1]/da[1]``; "" for a blank one."""
    if (
        isinstance(node, Frac)
        and isinstance(node.num, Sym)
        and isinstance(node.den, Sym)
        and node.num.text.startswith("∂")
        and node.den.text.startswith("∂")
    ):
        num, den = node.num.text[1:], node.den.text[1:]
        top = "l" if num == "ℓ" else _plain(num)
        return f"d{top}/d{_plain(den)}"
    if isinstance(node, Sym):
        return _plain(node.text) if node.text else ""
    return ""
