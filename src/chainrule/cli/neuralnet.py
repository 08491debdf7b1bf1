"""chainrule neuralnet: the course homework's command line (nine positional arguments), exactly."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

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
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    from chainrule.train.course import run_course

    run_course(
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
    )
    return 0
