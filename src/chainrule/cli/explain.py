"""``chainrule explain [SPEC]``: the worked forward and backward pass of a small network.

With no SPEC it explains the recitation's network (section 3.1: x = [1, 2], y = 3).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

ORDER = 20

# The recitation's section 3 network, the default when no spec file is given: package data, a copy of
# examples/recitation-3.1.toml (tests/test_examples_packaged.py keeps the two identical).
RECITATION = "recitation-3.1.toml"


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "explain",
        help="print the worked forward and backward pass of a small network",
        description="Print how the engine got its numbers: every a, z, ŷ, ℓ and every gradient of a small "
        "network, with the numbers substituted, in the recitation's notation. With no SPEC: "
        "the recitation's network with x = [1, 2], y = 3.",
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="network spec file (TOML); see examples/")
    p.add_argument(
        "--torch",
        metavar="FILE.py",
        help="explain a PyTorch network instead: a Python file that defines `model` (a "
        "torch.nn.Sequential of Linear and activations) and optionally x, y and loss "
        "(torch MSELoss or CrossEntropyLoss); needs pip install 'chainrule[torch]'",
    )
    p.add_argument(
        "--form",
        choices=("scalar", "vector"),
        default="scalar",
        help="scalar: every sum written out (default); vector: the matrix form",
    )
    p.add_argument(
        "--wrt",
        metavar="WEIGHT",
        help="only the chain rule for one weight: alpha[1,1], beta[1], beta[k,j], alpha2[j,i] …",
    )
    p.add_argument(
        "--format",
        choices=("text", "markdown", "latex", "json", "html"),
        default="text",
        dest="fmt",
        help="output format (default text); html: one self-contained page, the network picture linked "
        "to the derivation, with step buttons",
    )
    p.add_argument("--standalone", action="store_true", help="with --format latex: a complete document")
    p.add_argument(
        "--digits",
        type=int,
        metavar="N",
        help="significant digits of every number (default 8: the recitation's section 3 to at least its digits)",
    )
    p.add_argument(
        "--decimals",
        type=int,
        metavar="N",
        help="digits after the point instead of --digits (e.g. 5: 4.91807); smaller values in scientific notation",
    )
    p.add_argument(
        "--layout",
        choices=("row", "column"),
        default="row",
        help="with --form vector: row vectors, a = x̂ αᵀ (section 3.2, default), or column vectors, a = α x̂ (3.3)",
    )
    p.add_argument(
        "--round-each-step",
        action="store_true",
        help="round every intermediate to what is printed before it is used, as by hand",
    )
    p.add_argument("--check", action="store_true", help="show central finite differences beside each gradient")
    p.add_argument(
        "--lr",
        type=float,
        metavar="η",
        help="add the update: every parameter after one SGD step, w⁺ = w − η · ∂ℓ/∂w, with the numbers",
    )
    p.add_argument("--steps", type=int, metavar="K", help="with --lr: K SGD steps on this example, the loss after each")
    p.add_argument(
        "--cells",
        type=int,
        default=9,
        metavar="N",
        help="image networks: work the first N cells of each map in full (default 9; JSON has every cell)",
    )
    p.add_argument("--x", dest="x", metavar="VALUES", help="input instead of the spec's x, e.g. '[0, 1]'")
    p.add_argument("--y", dest="y", metavar="VALUE", help="target instead of the spec's y, e.g. 3")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=run)


def _value(text: str, flag: str) -> Any:
    import tomllib

    from chainrule.errors import ChainruleError

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ChainruleError(f"{flag} {text!r}: expected a number or a list of numbers such as [0, 1]") from None


def run(args: "argparse.Namespace") -> int:
    import tomllib

    from chainrule.errors import ChainruleError
    from chainrule.spec import parse_spec, read_spec_data

    if args.decimals is not None and not 0 <= args.decimals <= 15:
        raise ChainruleError(f"--decimals {args.decimals}: must be between 0 and 15")
    if args.digits is not None and not 1 <= args.digits <= 17:
        raise ChainruleError(f"--digits {args.digits}: must be between 1 and 17")
    if args.digits is not None and args.decimals is not None:
        raise ChainruleError(
            f"give --digits or --decimals, not both (got --digits {args.digits} --decimals {args.decimals})"
        )
    if args.steps is not None and args.steps < 1:  # 0 given is not the default's "no steps"
        raise ChainruleError(f"--steps {args.steps}: must be between 1 and 10000")
    if args.layout != "row" and args.form != "vector":
        raise ChainruleError(f"--layout {args.layout} goes with --form vector")
    if args.torch is not None:
        return _run_torch(args)
    if args.spec is None:
        from importlib.resources import files

        data = tomllib.loads(files("chainrule").joinpath("examples", RECITATION).read_text(encoding="utf-8"))
        source = "<recitation>"
    else:
        data = read_spec_data(args.spec)  # checked once, below, after any --x / --y overrides
        source = args.spec
    if "conv" in data or "shape" in data:  # a convolution / output-size exercise (chainrule exercise)
        return _worksheet(args, data, source)
    if args.x is not None:
        data["x"] = _value(args.x, "--x")
    if args.y is not None:
        data["y"] = _value(args.y, "--y")
    spec = parse_spec(data, source=source)
    if spec.x is None:
        raise ChainruleError(f"{source}: key 'x': missing: explain needs an input (in the spec or --x)")
    if spec.y is None:
        raise ChainruleError(f"{source}: key 'y': missing: explain needs a target (in the spec or --y)")
    if args.standalone and args.fmt != "latex":
        raise ChainruleError("--standalone goes with --format latex")
    net, loss = spec.build(rng=0)  # layers given only by `units`: the same weights on every run
    from chainrule.explain.cnn import front_length, is_image_network
    from chainrule.explain.rules import rule_for

    image = is_image_network(net)
    for i, layer in enumerate(net.layers):  # a layer explain cannot write out, named before x's shape
        try:
            rule_for(layer, i)
            if image and i == 0:
                front_length(net.layers)  # and one that stands where explain cannot write it
        except ChainruleError as e:
            raise ChainruleError(f"{source}: {e}") from None
    if not image and spec.x.ndim != 1:
        raise ChainruleError(f"{source}: key 'x': explain works on one example; x has shape {spec.x.shape}")
    return _explain(args, source, net, spec.x, spec.y, loss)


def _worksheet(args: "argparse.Namespace", data: dict, source: str) -> int:
    """A ``[conv]`` or ``[shape]`` exercise file: the convolution worksheet or the worked output size."""
    import json

    from chainrule.check.network import problem_from_data
    from chainrule.check.problem import values_of
    from chainrule.errors import ChainruleError
    from chainrule.explain.numbers import NumberFormat
    from chainrule.explain.render import render_document

    if args.standalone and args.fmt != "latex":
        raise ChainruleError("--standalone goes with --format latex")
    kind = "conv" if "conv" in data else "shape"
    network_only = {
        "--wrt": args.wrt,
        "--form vector": args.form == "vector",
        "--round-each-step": args.round_each_step,
        "--check": args.check,
        "--x": args.x,
        "--y": args.y,
        "--format html": args.fmt == "html",
    }
    for flag, given in network_only.items():
        if given:
            raise ChainruleError(f"{source}: {flag} applies to a network; this is a [{kind}] exercise")
    doc = problem_from_data(data, source).document
    if args.fmt == "json":
        out = json.dumps(values_of(doc), ensure_ascii=False) + "\n"
    else:
        fmt = NumberFormat(args.decimals, args.digits, unicode=True)  # explain's style, as the key's
        out = render_document(doc, args.fmt, fmt, standalone=args.standalone)
    _emit(args, out)
    return 0


def _explain(args: "argparse.Namespace", source: str, net: Any, x: Any, y: Any, loss: Any) -> int:
    """Explain, name ``source`` in any error about the network or data (not --wrt's), and write."""
    from chainrule.errors import ChainruleError
    from chainrule.explain import explain

    try:
        e = explain(
            net,
            x,
            y,
            loss,
            form=args.form,
            wrt=args.wrt,
            decimals=args.decimals,
            digits=args.digits,
            layout=args.layout,
            round_each_step=args.round_each_step,
            check=args.check,
            lr=args.lr,
            steps=args.steps or 0,
            cells=args.cells,
        )
    except ChainruleError as err:
        if str(err).startswith(("--wrt", "--lr", "--steps", "--cells")):
            raise
        raise ChainruleError(f"{source}: {err}") from None
    _emit(args, e.render(args.fmt, standalone=args.standalone))
    return 0


def _emit(args: "argparse.Namespace", out: str) -> None:
    if args.output:
        from chainrule.files import write_output

        write_output(
            args.output, out, "-o", {f"input file {args.spec}": args.spec, f"input file {args.torch}": args.torch}
        )
    else:
        import sys

        sys.stdout.write(out)


def _run_torch(args: "argparse.Namespace") -> int:
    """``--torch FILE.py``: the file's ``model`` converted with ``from_torch``; x, y from the flags or
    the file."""
    from chainrule.errors import ChainruleError
    from chainrule.interop.torch import load_torch_file

    if args.spec is not None:
        raise ChainruleError(f"give a SPEC or --torch FILE.py, not both (got {args.spec} and {args.torch})")
    if args.standalone and args.fmt != "latex":
        raise ChainruleError("--standalone goes with --format latex")
    got = load_torch_file(args.torch)
    x = _value(args.x, "--x") if args.x is not None else got["x"]
    y = _value(args.y, "--y") if args.y is not None else got["y"]
    for name, v in (("x", x), ("y", y)):
        if v is None:
            raise ChainruleError(
                f"{args.torch}: explain needs {'an input' if name == 'x' else 'a target'}: "
                f"define {name} in the file or give --{name}"
            )
    return _explain(args, args.torch, got["net"], x, y, got["loss"])
