"""chainrule evaluate: loss, accuracy, per-class precision / recall / F1 and the confusion matrix of a
trained model on labelled data, as text or JSON."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

ORDER = 32


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "evaluate",
        help="loss, accuracy, per-class precision/recall/F1 and confusion matrix of a trained model on labelled data",
    )
    p.add_argument("model", metavar="MODEL", help="model.safetensors written by chainrule train")
    p.add_argument("data", metavar="DATA", help=".csv (label first), .npz (X, y) or IDX images")
    p.add_argument("--labels", metavar="FILE", help="IDX labels file (default: MNIST's naming next to DATA)")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (rounded, for reading) or json (every value at full precision)",
    )
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    import json

    import numpy as np

    from chainrule.train.metrics import class_report, confusion_matrix, evaluate
    from chainrule.train.use import load_for_model, load_trained, loss_of, target_scaler

    net, extra = load_trained(args.model)
    ds = load_for_model(extra, args.data, args.labels, need_labels=True, dtype=net.dtype or np.float64)
    assert ds.y is not None  # need_labels: a labelled set, or load_for_model refused it
    ev = evaluate(net, loss_of(extra), ds.X, ds.y, extra["task"], target=target_scaler(extra))
    result: dict = {"examples": len(ds), "task": extra["task"], "loss_function": extra["loss"], "loss": float(ev.loss)}
    if extra["task"] == "classification":
        m = confusion_matrix(ds.y, ev.predictions, extra["classes"])
        per_class = class_report(m)
        result |= {
            "accuracy": float(np.trace(m) / len(ds)),
            "error": ev.error,
            "classes": per_class,
            "macro_avg": {k: float(np.mean([c[k] for c in per_class])) for k in ("precision", "recall", "f1")},
            "confusion_matrix": m.tolist(),
        }
    else:
        result |= {"mse": ev.error, "rmse": ev.rmse, "mae": ev.mae}
    print(json.dumps(result, indent=1) if args.format == "json" else _text(result))
    return 0


def _text(r: dict) -> str:
    """The result for reading: the loss to 4 significant digits, rates to 4 decimals."""
    import numpy as np

    from chainrule.train.metrics import format_confusion

    lines = [f"examples: {r['examples']:,}", f"loss ({r['loss_function']}): {r['loss']:.4g}"]
    if r["task"] != "classification":
        return "\n".join(
            [
                *lines,
                f"mean squared error (MSE): {r['mse']:.6g}",
                f"root mean squared error (RMSE): {r['rmse']:.6g}",
                f"mean absolute error (MAE): {r['mae']:.6g}",
            ]
        )
    m = np.array(r["confusion_matrix"])
    right = int(np.trace(m))
    lines += [
        f"accuracy: {r['accuracy']:.4f} ({right:,} of {r['examples']:,})",
        f"error: {r['error']!r} ({100 * r['error']:.2f}%)",
        "",
        f"{'class':>9} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}",
    ]
    lines += [
        f"{c['class']:>9} {c['precision']:9.4f} {c['recall']:9.4f} {c['f1']:9.4f} {c['support']:>9,}"
        for c in r["classes"]
    ]
    a = r["macro_avg"]
    lines += [
        f"{'macro avg':>9} {a['precision']:9.4f} {a['recall']:9.4f} {a['f1']:9.4f} {r['examples']:>9,}",
        "",
        "confusion matrix (rows true, columns predicted):",
        format_confusion(m),
    ]
    return "\n".join(lines)
