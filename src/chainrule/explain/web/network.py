"""``explain``'s web page: the network picture (inline SVG) on top, the derivation below, linked by qid.

    html = explanation_page(chainrule.explain(net, x, y))

A line's ``data-items`` are the picture's parts that show its quantity (``items_for``): ``z[1]``'s node
for the lines z₁ = …, ∂ℓ/∂z₁ = … and, in the compact picture where one node stands for a₁ and z₁, also
a₁ = … and ∂z₁/∂a₁ = …; the edge ``alpha[1,1]`` for ∂ℓ/∂α₁,₁ = …; every node of a layer for a
vector-form line (z = …); then the parts its right-hand side reads (the edges into a node, the input
of a weight). The numbers are the explanation's own; nothing is computed again.
"""

import re

from chainrule.draw import layout, to_svg
from chainrule.draw.graph import Graph
from chainrule.explain.explanation import Explanation
from chainrule.explain.picture import network_graph
from chainrule.explain.render_html import render_html
from chainrule.explain.web.page import page

_HAT = re.compile(r"^(x|z|alpha|beta)hat(\d*)$")  # x̂, ẑ⁽¹⁾, β̂: shown by the nodes of x, z⁽¹⁾, β


def items_for(qid: str, g: Graph) -> list[str]:
    """The qids of the picture's parts (nodes and edges of ``g``) that show line ``qid``'s quantity, then
    what its right-hand side reads: a forward line's incoming edges (a₁ = Σᵢ α₁,ᵢ xᵢ reads α₁,ᵢ), a weight
    gradient's input node (∂ℓ/∂α₁,₂ = ∂ℓ/∂a₁ · x₂ reads x₂)."""
    shown = _shown(qid, g)
    nodes = {n.qid for n in g.nodes}
    merged = {n.qid for n in g.nodes if n.also}  # z₁ = tanh(a₁) reads a₁, the same node: no edge
    if "/" not in qid and qid not in merged:
        shown += [e.qid for e in g.edges if e.dst in shown and e.dst in nodes and e.qid not in shown]
    else:
        shown += [e.src for e in g.edges if e.qid in shown and e.qid not in nodes and e.src not in shown]
    return shown


def _shown(qid: str, g: Graph) -> list[str]:
    names: dict[str, tuple[str, ...]] = {e.qid: (e.qid,) for e in g.edges}
    names.update({n.qid: (n.qid, *n.also) for n in g.nodes})
    if qid in names:
        return [qid]
    q = qid
    m = re.fullmatch(r"d(.+?)/d(.+)", q)  # ∂ℓ/∂z₁ is shown at z₁; ∂z₁/∂a₁ at z₁ (or its own edge, above)
    if m:
        q = m[2] if m[1] == "l" else m[1]
    h = _HAT.match(q)
    if h:
        q = h[1] + h[2]
    return [k for k, alts in names.items() if any(a == q or a.startswith(q + "[") for a in alts)]


def _phase(section: str) -> str:
    for word in ("forward", "backward"):
        if word in section.lower():
            return word
    return section.lower()


def explanation_page(e: Explanation) -> str:
    """The whole page of one explanation (its form, ``--wrt`` chain and digits)."""
    g = network_graph(e.trace, e.fmt, values=True, wrt=e.target)
    svg = to_svg(layout(g), standalone=False)

    def links(qid: str, section: str) -> dict[str, str]:
        return {"data-items": " ".join(items_for(qid, g)), "data-phase": _phase(section)}

    doc = e.document
    return page(doc.title or "Worked solution", svg, render_html(doc, e.fmt, links))
