"""chainrule evaluate: loss, error and confusion matrix of a trained model on labelled data."""

ORDER = 32


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="loss, error and confusion matrix of a trained model on labelled data")
    p.add_argument("model", metavar="MODEL", help="model.safetensors written by chainrule train")
    p.add_argument("data", metavar="DATA", help=".csv (label first), .npz (X, y) or IDX images")
    p.add_argument("--labels", metavar="FILE", help="IDX labels file (default: MNIST's naming next to DATA)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from chainrule.train.metrics import confusion_matrix, evaluate, format_confusion
    from chainrule.train.use import load_for_model, load_trained, loss_of

    net, extra = load_trained(args.model)
    ds = load_for_model(extra, args.data, args.labels, need_labels=True, dtype=net.dtype or np.float64)
    ev = evaluate(net, loss_of(extra), ds.X, ds.y, extra["task"])
    print(f"examples: {len(ds)}")
    print(f"loss ({extra['loss']}): {ev.loss!r}")
    if extra["task"] == "classification":
        print(f"error: {ev.error!r} ({100 * ev.error:.2f}%)")
        print("confusion matrix (rows true, columns predicted):")
        print(format_confusion(confusion_matrix(ds.y, ev.predictions, extra["classes"])))
    else:
        print(f"mean squared error: {ev.error!r}")
    return 0
