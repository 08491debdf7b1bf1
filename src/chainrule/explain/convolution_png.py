"""A picture of one convolution step: padded input, kernel and output grids, one window highlighted.

matplotlib is imported here only (and only when a picture is asked for), with the Agg backend.
"""

from typing import Any

import numpy as np

from chainrule.errors import ChainruleError


def _grid(ax: Any, a: np.ndarray, title: str, marks: Any = (), pad: Any = None) -> None:
    """Draw matrix ``a`` as numbered cells; ``marks`` are (row, col) cells to highlight."""
    from matplotlib.patches import Rectangle

    h, w = a.shape
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    for r in range(h):
        for c in range(w):
            padded = pad is not None and not (pad[0] <= r < h - pad[1] and pad[2] <= c < w - pad[3])
            face = "#e8f0ff" if (r, c) in marks else ("#f2f2f2" if padded else "white")
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=face, edgecolor="#999999", linewidth=0.8))
            v = a[r, c]
            ax.text(
                c + 0.5,
                r + 0.5,
                f"{v:g}" if abs(v) < 1e4 else f"{v:.2g}",
                ha="center",
                va="center",
                fontsize=9,
                color="#888888" if padded else "black",
            )
    for r, c in marks:
        ax.add_patch(Rectangle((c, r), 1, 1, fill=False, edgecolor="#d62728", linewidth=2))


def draw(ws: Any, path: Any, cell: tuple[int, int] = (0, 0), filt: int = 0, channel: int = 0) -> None:
    """Write a PNG of ``ws`` (a ConvWorksheet) with output cell ``cell`` of filter ``filt`` highlighted."""
    O, C, kh, kw, oh, ow = ws.shape
    i, j = cell
    if not (0 <= i < oh and 0 <= j < ow):
        raise ChainruleError(f"--cell {i + 1},{j + 1} is outside the {oh}×{ow} output")
    if not 0 <= filt < O:
        raise ChainruleError(f"--filter {filt + 1}: there are {O} filter(s)")
    if not 0 <= channel < C:
        raise ChainruleError(f"--channel {channel + 1}: the input has {C} channel(s)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (sh, sw), (dh, dw) = ws.layer.stride, ws.layer.dilation
    window = {(i * sh + u * dh, j * sw + v * dw) for u in range(kh) for v in range(kw)}
    fig, axes = plt.subplots(
        1,
        3,
        figsize=(3 + 0.45 * (ws.xp.shape[2] + kw + ow), 0.6 * ws.xp.shape[1] + 1.2),
        gridspec_kw={"width_ratios": [ws.xp.shape[2], kw, ow]},
    )
    name = "convolution (kernel flipped)" if ws.flip else "cross-correlation"
    _grid(
        axes[0], ws.xp[channel], f"input{' (padded)' if any(ws.pads) else ''}, channel {channel + 1}", window, ws.pads
    )
    _grid(
        axes[1],
        ws.used[filt, channel],
        "kernel" + (" rot180(F)" if ws.flip else ""),
        {(u, v) for u in range(kh) for v in range(kw)},
    )
    _grid(axes[2], ws.y[filt], f"output, filter {filt + 1}", {(i, j)})
    fig.suptitle(f"{name}: Y[{i + 1},{j + 1}] = {ws.y[filt, i, j]:g}", fontsize=11)
    fig.tight_layout()
    import io
    from pathlib import Path

    from chainrule.files import write_output

    picture = io.BytesIO()
    try:  # drawn in memory, then written as every output file is (a folder or missing folder named, atomic)
        fig.savefig(picture, dpi=110, format=Path(path).suffix.lower().lstrip(".") or "png")
    except ValueError as e:  # an extension matplotlib has no writer for (.txt)
        raise ChainruleError(f"--png {path}: {e}") from None
    finally:
        plt.close(fig)
    write_output(path, picture.getvalue(), "--png")
