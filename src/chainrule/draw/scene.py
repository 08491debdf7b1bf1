"""A picture as a list of shapes in pixel coordinates (y grows downwards, as in SVG).

A ``Group`` tags its shapes with a CSS class ("node", "edge", "block") and the quantity name (qid) the
shapes stand for (``z[1]``, ``alpha[1,1]``), so the web page can light a node when its line is chosen.
Colours are given on every shape, so an SVG looks the same in any viewer and in the raster backend.
"""

from dataclasses import dataclass, field

INK = "#222222"
MUTED = "#777777"
VALUE = "#1f4e9a"  # forward values
GRAD = "#b3261e"  # gradients
LIT = "#e8a317"  # the highlighted chain of --wrt
POSITIVE, NEGATIVE = "#2b6cb0", "#c53030"


@dataclass(frozen=True)
class Circle:
    cx: float
    cy: float
    r: float
    fill: str = "white"
    stroke: str = INK
    width: float = 1.5


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = MUTED
    width: float = 1.2
    arrow: bool = True


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 13
    fill: str = INK
    anchor: str = "middle"  # start | middle | end
    bold: bool = False
    halo: bool = False  # a white outline behind the letters, so a label stays legible over lines
    cls: str = ""  # an extra CSS class ("value", "grad", "label")


@dataclass(frozen=True)
class Polygon:
    points: tuple  # ((x, y), …)
    fill: str = "white"
    stroke: str = INK
    width: float = 1.0


@dataclass
class Group:
    cls: str
    qid: str = ""
    items: list = field(default_factory=list)
    title: str = ""  # a tooltip
    lit: bool = False  # drawn highlighted (the --wrt chain)


@dataclass
class Scene:
    width: float
    height: float
    items: list = field(default_factory=list)  # shapes and Groups, drawn in order
    title: str = ""

    def groups(self, cls: str | None = None) -> list[Group]:
        return [g for g in self.items if isinstance(g, Group) and (cls is None or g.cls == cls)]
