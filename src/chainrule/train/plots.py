"""learning-curves.png: loss and error per epoch, train and validation (matplotlib, imported lazily).

The panels are labelled as the console prints the run: the loss by its name, a classifier's error in
percent, a regression's MSE in the targets' units.
"""

import io
from pathlib import Path
from typing import TYPE_CHECKING

from chainrule.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# the loss functions' names (train.prepare stores a model's loss under these keys)
LOSS_NAMES = {
    "cross-entropy": "cross-entropy loss",
    "squared": "squared-error loss ½ Σ (ŷ − y)²",
    "mse": "mean squared error loss",
    "nll": "negative log-likelihood loss",
    "huber": "Huber loss",
}


def plot_learning_curves(
    history: list[dict], path: Path, title: str = "", loss: str = "", task: str = "classification"
) -> None:
    """Draw ``history`` (train.run's per-epoch entries) to ``path`` as a PNG, written atomically."""
    fig = learning_curves_figure(history, title, loss, task)
    import matplotlib.pyplot as plt  # after the figure chose the Agg backend

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def learning_curves_figure(
    history: list[dict], title: str = "", loss: str = "", task: str = "classification"
) -> "Figure":
    """The figure: loss (``loss``: its key in LOSS_NAMES, or its own name) and error per epoch;
    ``task`` says what the error column holds (a fraction, drawn in percent, or a regression's MSE)."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    percent = 100.0 if task == "classification" else 1.0
    error_label = "error (%)" if task == "classification" else "MSE (targets' units)"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    panels = ((axes[0], "loss", LOSS_NAMES.get(loss, loss or "loss"), 1.0), (axes[1], "error", error_label, percent))
    for ax, key, label, factor in panels:
        ax.plot(epochs, [factor * h[f"train_{key}"] for h in history], "o-", label="train", ms=3)
        if any(h.get(f"val_{key}") is not None for h in history):
            ax.plot(epochs, [factor * h[f"val_{key}"] for h in history], "o-", label="validation", ms=3)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
