"""The explainer: what the engine computed, written out as a worked solution.

trace.py      run the engine once, keep its cached values per linear layer (a ``Trace``)
notation.py   the recitation's symbols (x, α, a, z, β, b, ŷ, ℓ) and their generalisation
derive.py     Trace -> Document: the lines of the forward and backward pass
doc.py        the document model (blocks of prose / aligned equations; maths as a small tree)
numbers.py    how numbers are written (one place; also the rounding of --round-each-step)
render_*.py   text, Markdown, LaTeX; JSON is ``Trace.to_dict``
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
