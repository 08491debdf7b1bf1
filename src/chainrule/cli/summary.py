"""``chainrule summary``: a network's layers, output shapes, parameter counts and the formulas behind them.

    chainrule summary model.safetensors --input 1x8x8
    chainrule summary examples/cnn.toml
"""

ORDER = 45
FORMATS = ("text", "markdown", "json")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary", help="layers, output shapes and parameter counts of a model file or spec",
        description="Print each layer's output shape (per example), its parameter count and the formula "
                    "that gives the shape. FILE is a model file (.safetensors) or a network spec (.toml).")
    p.add_argument("file", help="a .safetensors model file or a .toml network spec")
    p.add_argument("--input", "-i", default=None,
                   help="input size of one example: C×H×W for images (e.g. 1x8x8) or a width (e.g. 64); "
                        "needed when the network starts with a convolution and the file does not say")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(func=run)


def load_network(path: str, input_shape):
    """(model, input shape or None) from a model file or a spec."""
    from pathlib import Path

    from chainrule.errors import ChainruleError

    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        from chainrule.spec import load_spec

        spec = load_spec(path)
        shape = input_shape or spec.input_shape()
        if shape is None:
            raise ChainruleError(f"{path}: the spec gives no input size (key 'input'); pass --input C×H×W")
        net, _ = spec.build(input_shape=shape, rng=0)
        return net, tuple(shape)
    if suffix in (".safetensors", ".st"):
        from chainrule.serialize import load_model

        model, extra = load_model(path)
        shape = input_shape or extra.get("input_shape") or extra.get("input")
        if isinstance(shape, int):
            shape = (shape,)
        return model, None if shape is None else tuple(shape)
    raise ChainruleError(f"{path}: expected a model file (.safetensors) or a network spec (.toml), "
                         f"got {suffix or 'no extension'}")


def run(args) -> int:
    import json

    from chainrule.cli._args import dims
    from chainrule.nn.summary import summary

    shape = dims(args.input, "--input", (1, 2, 3), minimum=1) if args.input else None
    model, shape = load_network(args.file, shape)
    s = summary(model, shape)
    if args.format == "json":
        print(json.dumps(s.to_dict()))
    elif args.format == "markdown":
        print(s.markdown())
    else:
        print(s)
    return 0
