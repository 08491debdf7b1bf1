"""What a run prints and leaves at its end: the per-epoch line, the summary, the model file and the plot."""

from pathlib import Path

import numpy as np

from chainrule.serialize import save_model
from chainrule.train.metrics import Evaluation, confusion_matrix, evaluate, fmt_number, format_confusion
from chainrule.train.prepare import Prepared, targets
from chainrule.train.run_folder import OUTPUTS


def model_name(s: dict) -> str:
    return s["model"] if s["model"] in ("mlp", "cnn", "cnn-bn") else Path(s["model"]).name


def regression_columns(tr: Evaluation, va: Evaluation | None) -> dict:
    """A regression epoch's RMSE and MAE for the history (train_error / val_error hold its MSE)."""
    if tr.mae is None:
        return {}
    return {
        "train_rmse": tr.rmse,
        "train_mae": tr.mae,
        "val_rmse": va.rmse if va else None,
        "val_mae": va.mae if va else None,
    }


def _fmt_errors(h: dict, part: str, task: str) -> str:
    """``error 3.06%``, or a regression's ``MSE 3,012 RMSE 54.88 MAE 44.12`` (for part train or val)."""
    if task == "classification":
        return f"error {100 * h[f'{part}_error']:.2f}%"
    text = f"MSE {fmt_number(h[f'{part}_error'])}"
    for name in ("rmse", "mae"):
        if h.get(f"{part}_{name}") is not None:
            text += f" {name.upper()} {fmt_number(h[f'{part}_{name}'])}"
    return text


def _fmt_loss(v: float) -> str:
    return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"


def fmt_seconds(s: float) -> str:
    """A duration with a unit that fits: ``4.0 ms``, ``1.3 s``, ``2.5 min`` (two decimals of a second hid ms)."""
    if s < 1e-3:
        return f"{s * 1e6:,.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{s / 60:,.1f} min"


def epoch_line(h: dict, epochs: int, task: str) -> str:
    text = f"epoch {h['epoch']}/{epochs}  train loss {_fmt_loss(h['train_loss'])} {_fmt_errors(h, 'train', task)}"
    if h["val_loss"] is not None:
        text += f"  val loss {_fmt_loss(h['val_loss'])} {_fmt_errors(h, 'val', task)}"
    return text + f"  ({fmt_seconds(h['seconds'])})"


def finish(
    p: Prepared, history: list[dict], out: Path | None, last_eval: Evaluation | None = None, kept: dict | None = None
) -> None:
    """Save the model and print the summary; ``last_eval`` is the final epoch's Evaluation of the
    validation set (the training set when there is none), None when no epoch ran in this session;
    ``kept`` is the history entry of the epoch whose weights the network holds (early stopping's best)."""
    task = p.settings["task"]
    if out is not None:
        save_model(out / "model.safetensors", p.net, p.extra)
        from chainrule.train.plots import plot_learning_curves

        data = "digits (bundled)" if p.settings["train"] is None else Path(p.settings["train"]).name
        title = f"learning curves: {model_name(p.settings)} on {data}"
        if p.target is not None and p.target.kind != "none":
            title += " (loss on standardised targets)"
        plot_learning_curves(history, out / "learning-curves.png", title, p.extra["loss"], task)
    last = kept or (history[-1] if history else None)
    if last is None:
        return
    per_epoch = np.mean([h["seconds"] for h in history])
    lines = [
        f"done: train {_fmt_errors(last, 'train', task)}"
        + (f", validation {_fmt_errors(last, 'val', task)}" if last["val_error"] is not None else "")
        + f"; {fmt_seconds(per_epoch)} per epoch ({len(p.train) / per_epoch:,.0f} examples/s)"
    ]
    if task == "classification":
        ds = p.val if p.val is not None else p.train
        ev = last_eval if last_eval is not None else evaluate(p.net, p.loss, ds.X, targets(ds), task)
        lines.append(
            f"confusion matrix ({'validation' if p.val is not None else 'training'} set; rows true, columns predicted):"
        )
        lines.append(format_confusion(confusion_matrix(targets(ds), ev.predictions, p.extra["classes"])))
    lines.append(
        f"wrote {out}/: {', '.join(OUTPUTS)}"
        if out is not None
        else "the model was not saved (no --out); add --out DIR to save it"
    )
    print("\n".join(lines), flush=True)
