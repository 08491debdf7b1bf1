"""One format dispatch for every worked solution: a Document as text, Markdown or LaTeX.

JSON is not a rendering of the Document but of the engine's values (each caller's ``to_dict``), so
callers handle "json" before calling ``render_document``.
"""

from chainrule.errors import ChainruleError
from chainrule.explain.doc import Document
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render_latex import render_latex
from chainrule.explain.render_markdown import render_markdown
from chainrule.explain.render_text import render_text

FORMATS = ("text", "markdown", "latex", "json")


def render_document(doc: Document, fmt: str, number_format: NumberFormat, standalone: bool = False) -> str:
    """``doc`` written in ``fmt`` ('text', 'markdown' or 'latex'; ``standalone`` only for LaTeX)."""
    if fmt == "text":
        return render_text(doc, number_format)
    if fmt == "markdown":
        return render_markdown(doc, number_format)
    if fmt == "latex":
        return render_latex(doc, number_format, standalone=standalone)
    raise ChainruleError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
