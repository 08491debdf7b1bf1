"""A problem to grade: its worked solution (a ``Document``), the exact value of every quantity by
qid, in derivation order, and what the derivation would give under each common mistake.

``DenseProblem`` (a network of Linear layers and activations, through ``chainrule explain``),
``ConvProblem`` (one convolution, through the conv worksheet) and ``ShapeProblem`` (an output size)
share this interface; ``grade`` uses nothing else.
"""

from chainrule.explain.doc import Document, Equations, Num
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render import render_document

FMT = NumberFormat(5, unicode=True)  # the explainer's style: one minus sign, no trailing zeros


def values_of(doc: Document) -> dict[str, float]:
    """qid -> the number a line ends with (the engine's value it defines), in document order."""
    out: dict[str, float] = {}
    for b in doc.blocks:
        if not isinstance(b, Equations):
            continue
        for i, row in enumerate(b.rows):
            q = b.qid(i)
            if q and q not in out and isinstance(row[-1], Num):
                out[q] = float(row[-1].value)
    return out


class Problem:
    kind = ""
    document: Document
    expected: dict[str, float]

    def known(self) -> list[str]:
        return list(self.expected)

    def render(self, fmt: str, standalone: bool = False) -> str:
        """The worked solution, as ``chainrule explain`` prints it for this problem's spec."""
        return render_document(self.document, fmt, FMT, standalone=standalone)

    def line(self, qid: str, fmt: str = "text") -> str:
        """The correct line of the derivation that defines ``qid`` (its last, for a chain)."""
        found = self.document.lines_for(qid)
        if not found:
            return ""
        block, i = found[-1]
        doc = Document([Equations([block.rows[i]])])
        return render_document(doc, fmt, FMT).strip()

    def symbol(self, qid: str) -> str:
        """The quantity as printed (a₁, ∂ℓ/∂α₁,₁)."""
        found = self.document.lines_for(qid)
        if not found:
            return qid
        block, i = found[0]
        return render_document(Document([Equations([(block.rows[i][0], Num(0))])]), "text", FMT).split(" = ")[0].strip()

    def mistakes(self, qid: str, given: dict[str, float] | None = None) -> list[tuple[str, float]]:
        """(diagnosis, the value the mistake gives for ``qid``), most specific first; with ``given``
        (the learner's earlier values) also the mistake made on top of their own numbers."""
        return []

    def recompute(self, qid: str, given: dict[str, float]) -> float | None:
        """``qid`` recomputed from the learner's own values ``given`` (follow-through), or None."""
        return None

    def depends(self, qid: str, on: str, value: float) -> bool:
        """True when replacing ``on`` by ``value`` changes ``qid``."""
        return False
