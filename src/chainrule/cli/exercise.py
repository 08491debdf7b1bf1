"""``chainrule exercise``: a new exercise with its answer key (docs/check.md)."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

ORDER = 23
MAX_VARIANTS = 1000


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "exercise",
        help="write a new exercise (dense, conv or shape) with its answer key",
        description="Draw a new exercise like the recitation's (section 3: dense; 4.2 a: conv; 4.2 b: shape) "
        "from small integers or one-decimal values, well-conditioned; write the spec, the question sheet and "
        "the answer key (chainrule explain's worked solution) as Markdown and LaTeX, and answers files for "
        "chainrule check. --seed reproduces it byte for byte.",
    )
    p.add_argument("--kind", choices=("dense", "conv", "shape"), default="dense")
    p.add_argument("--sizes", default="2,3,1", metavar="N0,N1,…", help="dense: layer widths, input first")
    p.add_argument("--activation", choices=("tanh", "sigmoid", "relu"), default="tanh", help="dense: hidden layers")
    p.add_argument("--loss", choices=("squared", "cross-entropy"), default="squared", help="dense (default squared)")
    p.add_argument("--decimal", action="store_true", help="one-decimal values instead of small integers")
    p.add_argument("--size", metavar="HxW", help="conv / shape: the input size (conv default 4x4; shape: drawn)")
    p.add_argument("--kernel", type=int, metavar="K", help="conv / shape: kernel size (conv default 3)")
    p.add_argument("--stride", type=int, metavar="S", help="conv / shape: stride (conv default 1)")
    p.add_argument("--padding", type=int, metavar="P", help="conv / shape: padding (conv default 0)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="the random seed (default 0)")
    p.add_argument("--variants", type=int, default=1, metavar="N", help="N different versions, a key for each")
    p.add_argument("--standalone", action="store_true", help="complete LaTeX documents (compile with pdflatex)")
    p.add_argument("-o", "--out", default="exercise", metavar="DIR", help="folder to write into (default exercise)")
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    from chainrule.cli._args import dims
    from chainrule.errors import ChainruleError
    from chainrule.exercise.write import Request, write_exercises

    if not 1 <= args.variants <= MAX_VARIANTS:  # a class's worth; 10⁹ would fill the disk for hours
        raise ChainruleError(f"--variants {args.variants}: must be between 1 and {MAX_VARIANTS}")
    if args.seed < 0:
        raise ChainruleError(f"--seed must be ≥ 0, got {args.seed}")
    sizes = dims(args.sizes, "--sizes", tuple(range(2, 9)), minimum=1)
    for flag, v in (("--kernel", args.kernel), ("--stride", args.stride)):
        if v is not None and v < 1:
            raise ChainruleError(f"{flag} must be ≥ 1, got {v}")
    if args.padding is not None and args.padding < 0:
        raise ChainruleError(f"--padding must be ≥ 0, got {args.padding}")
    hw = dims(args.size, "--size", (2,), minimum=1) if args.size else None
    size = (hw[0], hw[1]) if hw is not None else None
    req = Request(
        args.kind, sizes, args.activation, args.loss, args.decimal, size, args.kernel, args.stride, args.padding
    )
    written = write_exercises(req, args.seed, args.variants, args.out, args.standalone)
    print(
        f"wrote {len(written)} files to {args.out}/: "
        + ", ".join(p.name for p in written[:7])
        + (" …" if len(written) > 7 else "")
    )
    return 0
