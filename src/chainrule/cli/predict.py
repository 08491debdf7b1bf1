"""chainrule predict: one prediction per example, with the model's own feature scaling."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    import numpy as np

ORDER = 31


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "predict",
        help="predict labels (or values) for data with a trained model",
        description="Writes one predicted label per line (regression: the values, comma-"
        "separated) to standard output or --out. CSV data may omit the label column.",
    )
    p.add_argument("model", metavar="MODEL", help="model.safetensors written by chainrule train")
    p.add_argument("data", metavar="DATA", help=".csv, .npz or IDX images")
    p.add_argument("--labels", metavar="FILE", help="IDX labels file (not needed to predict)")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.add_argument(
        "--proba",
        action="store_true",
        help="classification: write each example's class probabilities (the softmax of the "
        "network's outputs), one row per example, one comma-separated column per class",
    )
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    import sys

    import numpy as np

    from chainrule.errors import ChainruleError
    from chainrule.files import refuse_overwrite, write_output
    from chainrule.nn.activations import Softmax
    from chainrule.train.metrics import class_probabilities
    from chainrule.train.use import load_for_model, load_trained, predict

    inputs = {
        f"model file {args.model}": args.model,
        f"data file {args.data}": args.data,
        f"labels file {args.labels}": args.labels,
    }
    if args.out:
        refuse_overwrite(args.out, "--out", inputs)
    net, extra = load_trained(args.model)
    if args.proba and extra["task"] != "classification":
        raise ChainruleError(
            f"{args.model}: --proba gives class probabilities, but this is a {extra['task']} "
            "model; drop --proba to get its predicted values"
        )
    ds = load_for_model(extra, args.data, args.labels, need_labels=False)
    out = predict(net, extra, ds.X.astype(net.dtype or np.float64))
    if args.proba:
        # a network that already ends in a softmax outputs the probabilities themselves
        text = _rows(out if isinstance(net[-1], Softmax) else class_probabilities(out))
    elif extra["task"] == "classification":
        text = "".join(f"{v}\n" for v in np.argmax(out, axis=1))
    else:
        text = _rows(out)
    if args.out:
        write_output(args.out, text, "--out", inputs)
    elif sys.stdout is None:
        raise ChainruleError("standard output is closed; write the predictions to a file with --out FILE")
    else:
        sys.stdout.write(text)
    return 0


def _rows(a: "np.ndarray") -> str:
    """(n, k) values as n lines of k comma-separated floats, each printed to round-trip exactly."""
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in a)
