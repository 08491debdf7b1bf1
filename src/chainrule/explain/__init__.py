"""The explainer: what the engine computed, written out as a worked solution.

passes.py     check the network/example/loss and run the engine's pass once (hand-rounding mode too)
trace.py      what the pass cached, one ``Step`` per layer (and the recitation's dense ``Stage``s)
rules/        ONE table (``rules.RULES``, by layer class) of each layer type's explanation rule:
              linear, activations, rectifiers, losses, conv, pool, flatten, dropout, batchnorm
              (interface: rules/base.py)
derive.py     orchestration only: walk the steps, ask each rule for its lines (a ``Document``)
wrt.py        ``--wrt``: one weight's chain, its closed form and its steps
chain.py      the chain of variables from the loss down to one unit
notation.py   the recitation's symbols (x, α, a, z, β, b, ŷ, ℓ) and their generalisation
doc.py        the document model (blocks of prose / aligned equations; maths as a small tree)
numbers.py    how numbers are written (one place; also the rounding of --round-each-step)
approx.py     = or ≈: whether a printed line holds on its printed operands
render_*.py   text, Markdown, LaTeX, HTML; JSON is ``Explanation.to_dict``
render.py     ``render_document(doc, fmt, …)``: the one format dispatch
explanation.py  ``explain(net, x, y, …) -> Explanation``
"""

from chainrule.explain.doc import Document
from chainrule.explain.explanation import Explanation, explain
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render_latex import render_latex
from chainrule.explain.render_markdown import render_markdown
from chainrule.explain.render_text import render_text

__all__ = [
    "explain",
    "Explanation",
    "Document",
    "NumberFormat",
    "render_text",
    "render_markdown",
    "render_latex",
]
