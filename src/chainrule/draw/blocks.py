"""A network as a row of blocks, left to right, as in the usual LeNet diagrams: each feature map C×H×W a
stack of C sheets (at most 8 drawn, sized by H and W), each vector a thin bar, the layer between two
blocks written over the arrow joining them (``conv 3×3, stride 1, pad 1 + relu``).

    scene = blocks_scene([Block((1, 8, 8), "input"), Block((4, 8, 8), "conv1"), …], ["conv 3×3 …", …])
"""

from dataclasses import dataclass

from chainrule.draw.scene import INK, MUTED, Group, Line, Polygon, Scene, Text

GAP = 120  # room between two blocks for the arrow and its label
TOP = 70
MAX_SHEETS = 8
SHEET = 7  # offset between two sheets of a stack


@dataclass
class Block:
    shape: tuple[int, ...]  # (C, H, W) a feature map, (n,) a vector
    name: str = ""  # drawn above the block ("input", "conv1")
    qid: str = ""


def _side(n: int) -> float:
    return max(18.0, min(150.0, 12.0 * n))


def _size(shape: tuple[int, ...]) -> tuple[float, float, int]:
    """(width, height, sheets) of a block's front face."""
    if len(shape) == 3:
        return _side(shape[2]), _side(shape[1]), min(shape[0], MAX_SHEETS)
    n = shape[0] if shape else 1
    return 16.0, max(40.0, min(220.0, 2.0 * n)), 1


def caption(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _stack(x: float, mid: float, w: float, h: float, sheets: int, fill: str) -> list:
    items: list = []
    for k in reversed(range(sheets)):  # the back sheet first, so the front one covers it
        ox, oy = x + k * SHEET, mid - h / 2 - k * SHEET
        items.append(Polygon(((ox, oy), (ox + w, oy), (ox + w, oy + h), (ox, oy + h)), fill=fill, stroke=INK))
    return items


def blocks_scene(blocks: list[Block], ops: list[str], title: str = "") -> Scene:
    """``ops[k]`` labels the arrow from ``blocks[k]`` to ``blocks[k + 1]``."""
    sizes = [_size(b.shape) for b in blocks]
    tall = max(h + (s - 1) * SHEET for _, h, s in sizes)
    mid = TOP + tall / 2 + 10
    width = 40 + sum(w + (s - 1) * SHEET for w, _, s in sizes) + GAP * (len(blocks) - 1) + 40
    scene = Scene(width, mid + tall / 2 + 70, title=title)
    x = 40.0
    for k, (b, (w, h, s)) in enumerate(zip(blocks, sizes, strict=True)):
        depth = (s - 1) * SHEET
        fill = "#dbe8f7" if len(b.shape) == 3 else "#f3e3c6"
        items = _stack(x, mid + depth / 2, w, h, s, fill)
        cx = x + (w + depth) / 2
        items.append(Text(cx, mid - h / 2 - depth / 2 - 14, b.name, size=12, fill=MUTED))
        items.append(Text(cx, mid + h / 2 + depth / 2 + 16, caption(b.shape), size=13, cls="label"))
        scene.items.append(Group("block", b.qid or b.name, items, title=f"{b.name}: {caption(b.shape)}"))
        x += w + depth
        if k < len(ops):
            scene.items.append(Line(x + 8, mid, x + GAP - 8, mid, stroke=MUTED, width=1.5))
            for r, part in enumerate(ops[k].split("\n")):
                scene.items.append(Text(x + GAP / 2, mid - 12 - 14 * (len(ops[k].split("\n")) - 1 - r), part, size=10))
            x += GAP
    return scene
