"""Markdown with ``$…$`` / ``$$…$$`` maths (renders on GitHub and in Jupyter).

Each equation group is one ``$$\\begin{aligned}…\\end{aligned}$$`` display block, set off by blank lines.
"""

from chainrule.explain.doc import Document, Equations, Heading, Prose
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render_latex import aligned_rows, math


def _prose(p: Prose, fmt: NumberFormat) -> str:
    return "".join(part if isinstance(part, str) else f"${math(part, fmt)}$" for part in p.parts)


def render_markdown(doc: Document, fmt: NumberFormat) -> str:
    out = []
    if doc.title:
        out.append(f"# {doc.title}")
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append("#" * max(block.level, 2) + " " + block.text)
        elif isinstance(block, Prose):
            out.append(_prose(block, fmt))
        elif isinstance(block, Equations):
            out.append("$$\n\\begin{aligned}\n" + aligned_rows(block, fmt) + "\n\\end{aligned}\n$$")
        else:
            raise TypeError(f"unknown block {block!r}")
    return "\n\n".join(out) + "\n"
