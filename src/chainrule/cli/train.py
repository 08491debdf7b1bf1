"""chainrule train: train an MLP, a CNN or a TOML-specified network on digits, CSV, NPZ or IDX data."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

ORDER = 30

HELP = """With no data flags, trains the default MLP (64-128-10, tanh) on the bundled UCI digits.
--out DIR writes model.safetensors, checkpoint.safetensors (after every epoch), metrics.json,
metrics.csv and learning-curves.png; --resume DIR continues a stopped run bit for bit."""


def register(sub: "argparse._SubParsersAction") -> None:
    import argparse

    p = sub.add_parser(
        "train",
        help="train a network on data (default: an MLP on the bundled digits)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument("--train", metavar="FILE", help="training data: .csv (label first), .npz (X, y) or IDX images")
    d.add_argument("--train-labels", metavar="FILE", help="IDX labels file (default: MNIST's naming next to --train)")
    d.add_argument("--validation", metavar="FILE", help="validation data (default: a split of the training data)")
    d.add_argument("--validation-labels", metavar="FILE", help="IDX labels file for --validation")
    d.add_argument(
        "--val-split", type=float, metavar="F", help="fraction held out for validation (default 0.2; 0: none)"
    )
    d.add_argument("--image-shape", metavar="H,W", help="view each CSV/NPZ row as an image: H,W or C,H,W")
    d.add_argument("--task", choices=("classification", "regression"), help="default classification")
    d.add_argument("--scale", choices=("standard", "minmax", "none"), help="feature scaling (default standard)")
    d.add_argument(
        "--no-target-scaling",
        dest="target_scaling",
        action="store_const",
        const="none",
        help="--task regression: train on the targets as given (default: standardised with the training "
        "targets' mean and std, stored in the model and undone by predict, evaluate and export)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--model", metavar="mlp|cnn|cnn-bn|FILE.toml", help="default mlp; cnn-bn: cnn with BatchNorm and Dropout"
    )
    m.add_argument("--hidden", metavar="N[,N…]", help="MLP hidden widths (default 128)")
    m.add_argument("--activation", help="MLP activation: tanh (default), sigmoid, relu")
    m.add_argument("--init", help="default (PyTorch's), zeros, uniform (the course's ±0.1), xavier, he")
    m.add_argument("--dtype", choices=("float64", "float32"), help="default float64")
    o = p.add_argument_group("optimisation")
    o.add_argument(
        "--optimizer",
        choices=("sgd", "adagrad", "adam", "adamw", "rmsprop"),
        help="default sgd (cnn: adam); adamw's --weight-decay is decoupled",
    )
    o.add_argument(
        "--lr",
        type=float,
        help="learning rate (default 0.05 for sgd and adagrad, 0.001 for adam and adamw, 0.01 for rmsprop; cnn: 0.002)",
    )
    o.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    o.add_argument("--weight-decay", type=float, help="L2 weight decay (default 0)")
    o.add_argument("--batch-size", type=int, help="examples per step (default 32; 1 = per-example SGD)")
    o.add_argument("--epochs", type=int, help="default 20 (cnn: 15)")
    o.add_argument(
        "--no-shuffle",
        dest="shuffle",
        action="store_const",
        const=False,
        help="visit the examples in file order every epoch",
    )
    o.add_argument("--seed", type=int, help="seed of initialisation and shuffling (default 0)")
    o.add_argument(
        "--early-stop",
        type=int,
        metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE epochs; keeps (and saves) "
        "the epoch with the lowest validation loss",
    )
    o.add_argument(
        "--scheduler",
        choices=("step", "cosine", "plateau"),
        help="learning-rate schedule, stepped once per epoch: step (StepLR: lr × --gamma every "
        "--step-size epochs), cosine (CosineAnnealingLR over --t-max epochs down to --eta-min) or plateau "
        "(ReduceLROnPlateau: lr × --factor after --plateau-patience epochs without a lower loss, validation "
        "loss if there is validation data, else training loss)",
    )
    o.add_argument("--step-size", type=int, metavar="N", help="--scheduler step: epochs between decays (required)")
    o.add_argument("--gamma", type=float, help="--scheduler step: decay factor (default 0.1)")
    o.add_argument(
        "--t-max", type=int, metavar="N", help="--scheduler cosine: epochs of the half cosine (default --epochs)"
    )
    o.add_argument("--eta-min", type=float, help="--scheduler cosine: the lowest lr (default 0)")
    o.add_argument("--factor", type=float, help="--scheduler plateau: lr multiplier on a plateau (default 0.1)")
    o.add_argument(
        "--plateau-patience", type=int, metavar="N", help="--scheduler plateau: epochs without improvement (default 10)"
    )
    o.add_argument("--threshold", type=float, help="--scheduler plateau: relative improvement that counts (1e-4)")
    o.add_argument("--cooldown", type=int, metavar="N", help="--scheduler plateau: epochs to wait after a cut (0)")
    o.add_argument("--min-lr", type=float, help="--scheduler plateau: the lowest lr (default 0)")
    o.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads chainrule computes on (chainrule.set_num_threads; default: the CPUs it may use); "
        "NumPy's BLAS stays on one",
    )
    r = p.add_argument_group("output")
    r.add_argument("--out", metavar="DIR", help="folder for the model, checkpoints, metrics and plots")
    r.add_argument("--overwrite", action="store_true", help="start over in an --out that already holds a run")
    r.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run saved in DIR (its own settings; only --epochs may be given, to extend it)",
    )
    r.add_argument(
        "--progress",
        choices=("auto", "bar", "lines"),
        default="auto",
        help="progress bar (terminal) or one line per epoch (default auto)",
    )
    p.set_defaults(func=run)


# train.settings.DEFAULTS keys that have no flag here
NO_FLAG = ("split_seed",)


def run(args: "argparse.Namespace") -> int:
    from pathlib import Path

    from chainrule.errors import ChainruleError
    from chainrule.train.progress import Progress
    from chainrule.train.run import train
    from chainrule.train.settings import DEFAULTS

    if args.out == "" or args.resume == "":  # an unset shell variable: training would save nothing
        flag = "--out" if args.out == "" else "--resume"
        raise ChainruleError(f"{flag} '': an empty folder name; give a folder, or leave {flag} out")
    settings = {k: getattr(args, k) for k in DEFAULTS if k not in NO_FLAG}
    if args.resume is not None:
        given = [k for k in settings if settings[k] is not None and k != "epochs"]
        if given or args.out is not None:
            flags = ", ".join("--" + k.replace("_", "-") for k in given + (["out"] if args.out else []))
            raise ChainruleError(
                f"--resume continues a run with its own settings; drop {flags} "
                "(only --epochs may be given, to extend the run)"
            )
    if args.val_split is not None and args.validation is not None:
        raise ChainruleError(
            "--val-split holds out part of --train; with --validation FILE there is nothing to split (drop one of them)"
        )
    bar = {"auto": None, "bar": True, "lines": False}[args.progress]
    out, resume = (Path(args.out) if args.out else None), (Path(args.resume) if args.resume else None)
    folder = resume or out
    if folder is None:
        return train(settings, out, resume, args.overwrite, Progress(bar))
    from chainrule.train.lock import run_folder_lock
    from chainrule.train.run_folder import OUTPUTS

    with run_folder_lock(folder, "--resume" if resume else "--out", OUTPUTS, create=resume is None):
        return train(settings, out, resume, args.overwrite, Progress(bar))
