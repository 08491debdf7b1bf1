"""learning-curves.png: loss and error per epoch, train and validation (matplotlib, imported lazily)."""

import io
from pathlib import Path

from chainrule.files import atomic_write_bytes


def plot_learning_curves(history: list[dict], path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "error", "error")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train", ms=3)
        if any(h.get(f"val_{key}") is not None for h in history):
            ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", label="validation", ms=3)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
