"""A layered graph (a dense network) and its layout in columns, left to right.

    g = Graph(columns=["input", "hidden (tanh)", …])
    g.nodes.append(Node("x[0]", "+1", column=0, bias=True, caption="x₀"))
    g.edges.append(Edge("x[1]", "z[1]", "alpha[1,1]", label="1", weight=1.0))
    scene = layout(g)

Each column's nodes are stacked in the order given, bias first; columns are centred vertically. An edge
label sits on the edge near its source, where edges fanning out are furthest apart, at the first place
along it where its box (and its gradient's, with --backward) overlaps no label placed before, no node
and no node's numbers; ``by_weight`` drops the labels and shows each edge's weight by its width and
colour (blue positive, red negative).
"""

import math
from dataclasses import dataclass, field

from chainrule.draw.scene import GRAD, INK, LIT, MUTED, NEGATIVE, POSITIVE, VALUE, Circle, Group, Line, Scene, Text

R = 21  # node radius
DX, DY = 190, 74  # column and row pitch
TOP, LEFT = 64, 60


@dataclass
class Node:
    qid: str
    label: str  # drawn inside the circle: "x₁", "z₂", "+1"
    column: int
    bias: bool = False  # a +1 node (x₀, z₀)
    caption: str = ""  # drawn above the circle (the bias node's name, x₀)
    value: str = ""  # --values: the forward value, below the circle
    grad: str = ""  # --backward: ∂ℓ/∂ of the node, below the value
    lit: bool = False
    title: str = ""
    also: tuple[str, ...] = ()  # other quantities the node stands for (the compact form's z₁ is also a₁)


@dataclass
class Edge:
    src: str
    dst: str
    qid: str
    label: str = ""  # a weight's number or symbol; empty: no label
    weight: float | None = None  # drawn by colour and width when the graph is too large for labels
    grad: str = ""  # --backward: ∂ℓ/∂ of the weight
    lit: bool = False
    title: str = ""


@dataclass
class Graph:
    columns: list[str]  # a header per column
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    title: str = ""
    notes: list[str] = field(default_factory=list)  # lines of text under the picture (y = 3, the loss)
    elided: dict = field(default_factory=dict)  # column -> how many nodes were left out (drawn as ⋮)
    by_weight: bool = False  # draw edges by colour and width (a network too large for labels)


def layout(g: Graph) -> Scene:
    rows = [[n for n in g.nodes if n.column == c] for c in range(len(g.columns))]
    tall = max(len(r) + (1 if g.elided.get(c) else 0) for c, r in enumerate(rows))
    extra = sum(1 for n in g.nodes if n.grad) and 10  # room for a second line under the nodes
    height = TOP + tall * DY + 24 + extra + 18 * len(g.notes)
    dx = DX + 60 * any(e.grad for e in g.edges)  # --backward: two labels an edge need more room
    width = LEFT * 2 + 30 + (len(g.columns) - 1) * dx  # room for the last column's header
    pos: dict[str, tuple[float, float]] = {}
    for c, col in enumerate(rows):
        n = len(col) + (1 if g.elided.get(c) else 0)
        y0 = TOP + (tall - n) * DY / 2 + DY / 2
        for k, node in enumerate(col):
            gap = 1 if g.elided.get(c) and k >= len(col) - 2 else 0  # ⋮ before the last two nodes
            pos[node.qid] = (LEFT + c * dx, y0 + (k + gap) * DY)
    scene = Scene(width, height, title=g.title)
    for c, head in enumerate(g.columns):
        scene.items.append(Text(LEFT + c * dx, 24, head, size=12, fill=MUTED))
    labelled = not g.by_weight
    wmax = max((abs(e.weight) for e in g.edges if e.weight is not None), default=0.0) or 1.0
    fan: dict[str, int] = {}
    taken = [box for n in g.nodes for box in _node_boxes(n, *pos[n.qid])]  # what a label must not cover
    for e in g.edges:
        if e.src in pos and e.dst in pos:
            p, q = _ends(pos[e.src], pos[e.dst])
            k = fan[e.src] = fan.get(e.src, -1) + 1  # the k-th edge leaving its source
            t = _label_t(e, p, q, k, taken) if labelled and (e.label or e.grad) else 0.0
            scene.items.append(_edge(e, p, q, labelled, wmax, t))
    for c, count in g.elided.items():
        col = rows[c]
        x, y = pos[col[-2].qid] if len(col) >= 2 else pos[col[-1].qid]
        scene.items.append(Text(x, y - DY, "⋮", size=20, fill=MUTED))
        scene.items.append(Text(x + R + 4, y - DY, f"{count} more", size=10, fill=MUTED, anchor="start", halo=True))
    for node in g.nodes:
        scene.items.append(_node(node, *pos[node.qid]))
    for k, note in enumerate(g.notes):
        scene.items.append(Text(LEFT - R, height - 18 * (len(g.notes) - k) + 4, note, size=12, anchor="start"))
    return scene


def _node(n: Node, x: float, y: float) -> Group:
    stroke = LIT if n.lit else INK
    items: list = [Circle(x, y, R, fill="#f4f4f4" if n.bias else "white", stroke=stroke, width=3 if n.lit else 1.5)]
    items.append(Text(x, y, n.label, size=14 if len(n.label) <= 3 else 11, cls="label"))
    if n.caption:
        items.append(Text(x, y - R - 9, n.caption, size=12, fill=MUTED))
    if n.value:
        items.append(Text(x, y + R + 11, n.value, size=11, fill=VALUE, cls="value", halo=True))
    if n.grad:
        items.append(Text(x, y + R + (24 if n.value else 11), n.grad, size=11, fill=GRAD, cls="grad", halo=True))
    return Group("node", n.qid, items, title=n.title, lit=n.lit)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1
Point = tuple[float, float]


def _text_box(x: float, y: float, text: str, size: float) -> Box:
    w = 0.62 * size * len(text) + 3  # DejaVu Sans digits are about 0.62 em wide; 3 for the halo
    return (x - w / 2, y - size / 2 - 1, x + w / 2, y + size / 2 + 1)


def _overlap(a: Box, b: Box, gap: float = 0.0) -> float:
    """The area the two boxes share, ``a`` widened by ``gap`` on the left and right."""
    dx = min(a[2] + gap, b[2]) - max(a[0] - gap, b[0])
    return max(0.0, dx) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _node_boxes(n: Node, x: float, y: float) -> list[Box]:
    boxes = [(x - R, y - R, x + R, y + R)]
    if n.caption:
        boxes.append(_text_box(x, y - R - 9, n.caption, 12))
    if n.value:
        boxes.append(_text_box(x, y + R + 11, n.value, 11))
    if n.grad:
        boxes.append(_text_box(x, y + R + (24 if n.value else 11), n.grad, 11))
    return boxes


def _label_boxes(e: Edge, p: Point, q: Point, t: float) -> list[Box]:
    lx, ly = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
    boxes = [_text_box(lx, ly - 7, e.label, 11)] if e.label else []
    return boxes + ([_text_box(lx, ly + 7, e.grad, 10)] if e.grad else [])


# where along an edge its label may sit: near the source first, staggered, then further along
T_PLACES = (0.26, 0.36, 0.46, 0.31, 0.41, 0.51, 0.21, 0.56, 0.61, 0.66, 0.71, 0.16, 0.76, 0.81)


def _label_t(e: Edge, p: Point, q: Point, k: int, taken: list[Box]) -> float:
    """The first place along the edge (the k-th leaving its source starts at the k-th stagger) where its
    labels overlap nothing in ``taken`` and keep a gap from it, else the first where they overlap nothing,
    else the place where they overlap least; ``taken`` grows."""
    first = T_PLACES[k % 3]
    best, least = first, (math.inf, math.inf)
    for t in (first, *(t for t in T_PLACES if t != first)):
        boxes = _label_boxes(e, p, q, t)
        cover = (
            sum(_overlap(b, o) for b in boxes for o in taken),
            sum(_overlap(b, o, 3) for b in boxes for o in taken),
        )
        if cover < least:
            best, least = t, cover
        if cover == (0, 0):
            break
    taken.extend(_label_boxes(e, p, q, best))
    return best


def _ends(a: Point, b: Point) -> tuple[Point, Point]:
    """The edge from circle a to circle b, from rim to rim (room for the arrow head at b)."""
    (x1, y1), (x2, y2) = a, b
    length = math.hypot(x2 - x1, y2 - y1)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    return (x1 + ux * R, y1 + uy * R), (x2 - ux * (R + 2), y2 - uy * (R + 2))


def _edge(e: Edge, p: Point, q: Point, labelled: bool, wmax: float, t: float) -> Group:
    if e.lit:
        stroke, width = LIT, 3.0
    elif not labelled and e.weight is not None:
        stroke = POSITIVE if e.weight >= 0 else NEGATIVE
        width = 0.4 + 3.2 * abs(e.weight) / wmax
    else:
        stroke, width = MUTED, 1.2
    items: list = [Line(*p, *q, stroke=stroke, width=width)]
    if labelled and (e.label or e.grad):
        lx, ly = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
        if e.label:
            items.append(Text(lx, ly - 7, e.label, size=11, fill=LIT if e.lit else INK, halo=True, cls="label"))
        if e.grad:
            items.append(Text(lx, ly + 7, e.grad, size=10, fill=GRAD, halo=True, cls="grad"))
    return Group("edge", e.qid, items, title=e.title, lit=e.lit)
