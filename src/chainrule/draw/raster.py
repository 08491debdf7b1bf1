"""Scene -> PNG or PDF through matplotlib (imported here only, when asked for; a bare Figure, so
no pyplot backend is chosen or changed).

One scene pixel is one CSS pixel (1/96 inch), so the PDF has the SVG's size; the PNG is drawn at twice
that resolution. Shapes are drawn in scene order, as in the SVG; the metadata that would change from
run to run (creation date, software version) is left out, so the same scene gives the same bytes.
"""

import io
import math

from chainrule.draw.scene import Circle, Group, Line, Polygon, Scene, Text

PX = 0.75  # points per pixel (72 / 96)
FORMATS = ("png", "pdf")


def _draw(ax, item, z: list[int]) -> None:
    from matplotlib import patheffects
    from matplotlib.patches import Circle as MCircle
    from matplotlib.patches import Polygon as MPolygon

    z[0] += 1
    if isinstance(item, Group):
        for sub in item.items:
            _draw(ax, sub, z)
    elif isinstance(item, Circle):
        ax.add_patch(
            MCircle(
                (item.cx, item.cy), item.r, facecolor=item.fill, edgecolor=item.stroke, lw=item.width * PX, zorder=z[0]
            )
        )
    elif isinstance(item, Line):
        end = (item.x2, item.y2)
        if item.arrow:  # the SVG's marker: a filled head 7 px long and wide, whatever the line's width
            length = math.hypot(item.x2 - item.x1, item.y2 - item.y1) or 1.0
            ux, uy = (item.x2 - item.x1) / length, (item.y2 - item.y1) / length
            end = (item.x2 - 6 * ux, item.y2 - 6 * uy)
            head = ((item.x2, item.y2), (end[0] - 3.5 * uy, end[1] + 3.5 * ux), (end[0] + 3.5 * uy, end[1] - 3.5 * ux))
            ax.add_patch(MPolygon(head, closed=True, facecolor=item.stroke, edgecolor="none", zorder=z[0]))
        ax.plot((item.x1, end[0]), (item.y1, end[1]), color=item.stroke, lw=item.width * PX, zorder=z[0])
    elif isinstance(item, Polygon):
        ax.add_patch(
            MPolygon(
                item.points, closed=True, facecolor=item.fill, edgecolor=item.stroke, lw=item.width * PX, zorder=z[0]
            )
        )
    elif isinstance(item, Text):
        effects = [patheffects.withStroke(linewidth=3 * PX, foreground="white")] if item.halo else None
        ax.text(
            item.x,
            item.y,
            item.text,
            fontsize=item.size * PX,
            color=item.fill,
            ha={"start": "left", "middle": "center", "end": "right"}[item.anchor],
            va="center",
            fontweight="bold" if item.bold else "normal",
            path_effects=effects,
            zorder=z[0],
        )
    else:
        raise TypeError(f"cannot draw {item!r}")


def to_raster(scene: Scene, fmt: str) -> bytes:
    """The scene as PNG or PDF bytes."""
    from matplotlib.figure import Figure  # a bare Figure draws with Agg; pyplot's backend is left alone

    fig = Figure(figsize=(scene.width / 96, scene.height / 96), dpi=96)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.axis("off")
    z = [0]
    for item in scene.items:
        _draw(ax, item, z)
    buf = io.BytesIO()
    meta = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}[fmt]
    fig.savefig(buf, format=fmt, dpi=192 if fmt == "png" else 96, facecolor="white", metadata=meta)
    return buf.getvalue()
