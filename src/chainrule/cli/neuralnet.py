"""chainrule neuralnet: the course homework's command line (nine positional arguments), exactly."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from chainrule.train.course import CourseResult

ORDER = 33


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "neuralnet",
        help="the course homework's neural network: same arguments, same output files",
        description="One hidden sigmoid layer, softmax output, cross-entropy, per-example SGD in float64, "
        "with the course's seeding (see docs/training.md).",
    )
    p.add_argument("train_input", metavar="TRAIN_CSV", help="training data: label, then features, per line")
    p.add_argument("validation_input", metavar="VALIDATION_CSV")
    p.add_argument("train_out", metavar="TRAIN_OUT", help="predicted labels of the training data, one per line")
    p.add_argument("validation_out", metavar="VALIDATION_OUT")
    p.add_argument("metrics_out", metavar="METRICS_OUT", help="per-epoch cross-entropy, then the final errors")
    p.add_argument("num_epoch", metavar="NUM_EPOCH", type=int)
    p.add_argument("hidden_units", metavar="HIDDEN_UNITS", type=int)
    p.add_argument("init_flag", metavar="INIT_FLAG", type=int, help="1: uniform(−0.1, 0.1) seeded; 2: zeros")
    p.add_argument("learning_rate", metavar="LEARNING_RATE", type=float)
    p.add_argument(
        "--no-shuffle",
        action="store_true",
        help="visit the training examples in file order (default: RandomState(epoch).permutation)",
    )
    p.add_argument(
        "--optimizer",
        choices=("sgd", "adagrad"),
        default="sgd",
        help="sgd: w ← w − η g; adagrad (the handout's): G ← G + g², w ← w − η g/√(G + 1e-5)",
    )
    p.add_argument(
        "--classes",
        type=int,
        metavar="K",
        help="number of classes (the handouts use 10; default: the largest label + 1)",
    )
    p.add_argument(
        "--trace",
        metavar="FILE",
        help="write the worked forward, backward and update of the first K steps (K = --explain-steps, "
        "default 3) in the explainer's notation; .md Markdown, .tex LaTeX, .json every value, else text",
    )
    p.add_argument(
        "--explain-steps",
        type=int,
        metavar="K",
        help="how many SGD steps to work out (default 3 with --trace; without it, printed to standard output)",
    )
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    from chainrule.errors import ChainruleError
    from chainrule.train.course import run_course

    k = args.explain_steps if args.explain_steps is not None else (3 if args.trace else 0)
    if k < 0 or (args.explain_steps is not None and k < 1):
        raise ChainruleError(f"--explain-steps must be ≥ 1, got {k}")
    if args.trace:
        from chainrule.files import check_writable

        check_writable(args.trace)
    res = run_course(
        args.train_input,
        args.validation_input,
        args.train_out,
        args.validation_out,
        args.metrics_out,
        args.num_epoch,
        args.hidden_units,
        args.init_flag,
        args.learning_rate,
        not args.no_shuffle,
        args.optimizer,
        args.classes,
        trace_steps=k,
    )
    if k:
        _write_trace(args, res)
    return 0


def _write_trace(args: "argparse.Namespace", res: "CourseResult") -> None:
    """The worked steps, in the format the --trace file's suffix names (text on standard output)."""
    import json
    import sys
    from pathlib import Path

    from chainrule.data.csv import load_csv
    from chainrule.explain.numbers import NumberFormat
    from chainrule.explain.render import render_document
    from chainrule.explain.sgd_steps import sgd_steps_document, steps_to_dict

    data = load_csv(args.train_input)
    assert data.y is not None  # load_csv reads the label column
    suffix = Path(args.trace).suffix.lower() if args.trace else ""
    if suffix == ".json":
        out = json.dumps(steps_to_dict(res.net, data.X, data.y, res.steps, args.learning_rate, args.optimizer)) + "\n"
    else:
        fmt = {".md": "markdown", ".tex": "latex"}.get(suffix, "text")
        doc = sgd_steps_document(res.net, data.X, data.y, res.steps, args.learning_rate, args.optimizer)
        out = render_document(doc, fmt, NumberFormat(5), standalone=fmt == "latex")
    if args.trace:
        from chainrule.files import atomic_write_bytes

        atomic_write_bytes(args.trace, out.encode("utf-8"))
    else:
        sys.stdout.write(out)
