"""``chainrule summary``: a network's layers, output shapes, parameter counts and the formulas behind them.

chainrule summary model.safetensors --input 1x8x8
chainrule summary examples/cnn.toml
chainrule summary cnn                 # a `chainrule train --model` preset, as built for the digits
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

ORDER = 45
FORMATS = ("text", "markdown", "json")


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "summary",
        help="layers, output shapes and parameter counts of a model file or spec",
        description="Print each layer's output shape (per example), its parameter count and the formula "
        "that gives the shape. FILE is a model file (.safetensors) or a network spec (.toml).",
    )
    p.add_argument(
        "file",
        help="a .safetensors model file, a .toml network spec, or a preset: mlp, cnn "
        "(as `chainrule train --model` builds it for the bundled digits)",
    )
    p.add_argument(
        "--input",
        "-i",
        default=None,
        help="input size of one example: C×H×W for images (e.g. 1x8x8) or a width (e.g. 64); "
        "needed when the network starts with a convolution and the file does not say",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    import json

    from chainrule.cli._args import dims
    from chainrule.cli._load import load_network
    from chainrule.errors import ChainruleError
    from chainrule.nn.summary import summary

    given = dims(args.input, "--input", (1, 2, 3), minimum=1) if args.input else None
    model, extra = load_network(args.file, given)
    shape = given or extra.get("input_shape") or extra.get("input")
    if shape is None and args.file.lower().endswith(".toml"):
        raise ChainruleError(f"{args.file}: the spec gives no input size (key 'input'); pass --input C×H×W")
    s = summary(model, None if shape is None else tuple([shape] if isinstance(shape, int) else shape))
    if args.format == "json":
        print(json.dumps(s.to_dict()))
    elif args.format == "markdown":
        print(s.markdown())
    else:
        print(s)
    return 0
