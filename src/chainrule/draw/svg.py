"""Scene -> SVG 1.1 text. Deterministic: numbers are written with two decimals, items in scene order.

Groups become ``<g class="node" data-qid="z[1]">`` with a ``<title>`` tooltip; the web page's script
and style find them by those attributes.
"""

from xml.sax.saxutils import escape, quoteattr

from chainrule.draw.scene import Circle, Group, Line, Polygon, Scene, Text

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"


def _n(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _shape(item) -> str:
    if isinstance(item, Circle):
        return (
            f'<circle cx="{_n(item.cx)}" cy="{_n(item.cy)}" r="{_n(item.r)}" fill="{item.fill}" '
            f'stroke="{item.stroke}" stroke-width="{_n(item.width)}"/>'
        )
    if isinstance(item, Line):
        marker = ' marker-end="url(#arrow)"' if item.arrow else ""
        return (
            f'<line x1="{_n(item.x1)}" y1="{_n(item.y1)}" x2="{_n(item.x2)}" y2="{_n(item.y2)}" '
            f'stroke="{item.stroke}" stroke-width="{_n(item.width)}"{marker}/>'
        )
    if isinstance(item, Text):
        cls = f' class="{item.cls}"' if item.cls else ""
        halo = ' stroke="white" stroke-width="3" paint-order="stroke"' if item.halo else ""
        weight = ' font-weight="bold"' if item.bold else ""
        return (
            f'<text x="{_n(item.x)}" y="{_n(item.y)}" font-size="{_n(item.size)}" fill="{item.fill}" '
            f'text-anchor="{item.anchor}" dominant-baseline="central"{weight}{halo}{cls}>'
            f"{escape(item.text)}</text>"
        )
    if isinstance(item, Polygon):
        pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in item.points)
        return f'<polygon points="{pts}" fill="{item.fill}" stroke="{item.stroke}" stroke-width="{_n(item.width)}"/>'
    if isinstance(item, Group):
        attrs = f' class="{item.cls}{" lit" if item.lit else ""}"'
        if item.qid:
            attrs += f" data-qid={quoteattr(item.qid)}"
        inner = ([f"<title>{escape(item.title)}</title>"] if item.title else []) + [_shape(i) for i in item.items]
        return f"<g{attrs}>" + "".join(inner) + "</g>"
    raise TypeError(f"cannot draw {item!r}")


def to_svg(scene: Scene, standalone: bool = True) -> str:
    """The SVG document (``standalone``: with the XML declaration, for a .svg file)."""
    w, h = _n(scene.width), _n(scene.height)
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    out = [
        head + f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="{FONT}" class="network">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse" markerUnits="userSpaceOnUse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#777777"/></marker></defs>',
        f'<rect width="{w}" height="{h}" fill="white"/>',
    ]
    if scene.title:
        out.insert(1, f"<title>{escape(scene.title)}</title>")
    out += [_shape(item) for item in scene.items]
    out.append("</svg>")
    return "\n".join(out) + "\n"
