"""``chainrule draw SPEC|MODEL``: the network as a picture (SVG, PNG or PDF): the recitation's
Figures 1–3 for a dense network, stacked feature-map blocks for a CNN.

chainrule draw examples/recitation-3.1.toml --labels none -o fig1.svg             # Figure 1
chainrule draw examples/recitation-3.1.toml --extended --wrt 'alpha[1,1]' --values   # Figure 2
chainrule draw examples/recitation-3.1.toml --values -o fig3.pdf                  # Figure 3, for LaTeX
chainrule draw examples/conv/cnn.toml -o cnn.png                                  # blocks C×H×W
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

ORDER = 22
FORMATS = ("svg", "png", "pdf")


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "draw",
        help="draw a network as SVG, PNG or PDF, optionally with its forward values and gradients",
        description="Write a picture of the network in SPEC (a .toml spec) or MODEL (a .safetensors model "
        "file). A dense network: input nodes with the +1 bias node, hidden units, the output and the loss; "
        "edges labelled with their weights, or drawn by weight when there are many. A network with "
        "convolutions: each feature map a block labelled C×H×W, each layer's kernel, stride and padding "
        "over its arrow.",
    )
    p.add_argument("spec", metavar="SPEC|MODEL", help="network spec file (TOML; see examples/) or a model file")
    p.add_argument(
        "--labels",
        choices=("auto", "numbers", "symbols", "none"),
        default="auto",
        help="edge labels: weights as numbers (auto: when at most 40 edges, else edges drawn by "
        "colour and width), symbols (α₁,₁), or none",
    )
    p.add_argument("--values", action="store_true", help="put the forward values (for the spec's x) on the nodes")
    p.add_argument("--backward", action="store_true", help="put ∂ℓ/∂ on the nodes and edges")
    p.add_argument(
        "--extended",
        action="store_true",
        help="each layer as a linear-combination node a and an activation node z (Figure 2)",
    )
    p.add_argument("--wrt", metavar="WEIGHT", help="light the chain of partials from one weight, e.g. alpha[1,1]")
    p.add_argument("--decimals", type=int, default=5, metavar="N", help="digits after the point (default 5)")
    p.add_argument(
        "--input-shape",
        metavar="C,H,W",
        help="the input shape of a network that does not say it (a model file saved without one)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        dest="fmt",
        help="svg, png or pdf (default: from the -o file's suffix, else svg)",
    )
    p.add_argument("--png", action="store_const", const="png", dest="fmt", help="same as --format png")
    p.add_argument("--pdf", action="store_const", const="pdf", dest="fmt", help="same as --format pdf")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=run)


def _format(args: "argparse.Namespace") -> str:
    from pathlib import Path

    from chainrule.errors import ChainruleError

    fmt = args.fmt
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    if fmt is None:
        fmt = suffix if suffix in FORMATS else "svg"
    elif suffix in FORMATS and suffix != fmt:
        raise ChainruleError(f"-o {args.output}: the suffix says {suffix} but --format is {fmt}")
    if fmt != "svg" and not args.output:
        raise ChainruleError(f"--format {fmt} is binary: give -o FILE")
    return fmt


def _dense(net: Any) -> bool:
    """True when every layer has an explain rule (Linear and the recitation's activations)."""
    from chainrule.errors import ChainruleError
    from chainrule.explain.rules import rule_for

    try:
        for i, layer in enumerate(net.layers):
            rule_for(layer, i)
    except ChainruleError:
        return False
    return True


def _load(args: "argparse.Namespace") -> tuple:
    """(net, loss, x, y, input shape) from a spec or a model file."""
    from pathlib import Path

    from chainrule.errors import ChainruleError

    if Path(args.spec).suffix.lower() in (".safetensors", ".st"):
        from chainrule.cli._load import load_network

        net, extra = load_network(args.spec)
        return net, _saved_loss(extra), None, None, extra.get("input_shape")
    if Path(args.spec).suffix.lower() != ".toml":
        raise ChainruleError(f"{args.spec}: expected a network spec (.toml) or a model file (.safetensors)")
    from chainrule.spec import load_spec

    spec = load_spec(args.spec)
    shape = spec.input_shape()
    net, loss = spec.build(input_shape=shape, rng=0) if shape else spec.build(rng=0)
    return net, loss, spec.x, spec.y, shape


def _saved_loss(extra: dict) -> Any:
    """The loss the model was trained with (``train`` records it), when the picture can name it; else None
    (the picture then assumes the recitation's squared error, or cross-entropy after a softmax)."""
    from chainrule.explain.rules import LOSS_RULES
    from chainrule.nn import LOSSES

    cls = LOSSES.get(str(extra.get("loss")))
    return cls() if cls in LOSS_RULES else None


def run(args: "argparse.Namespace") -> int:
    import sys

    import numpy as np

    from chainrule.draw import layout, to_svg
    from chainrule.errors import ChainruleError

    if not 0 <= args.decimals <= 15:
        raise ChainruleError(f"--decimals {args.decimals}: must be between 0 and 15")
    fmt = _format(args)
    net, loss, x, y, shape = _load(args)
    if args.input_shape is not None:
        from chainrule.cli._args import dims

        shape = dims(args.input_shape, "--input-shape", (1, 3), minimum=1)
    numbers = args.values or args.backward or args.wrt is not None or args.extended
    if not _dense(net) or (shape is not None and len(shape) != 1):
        if numbers:
            raise ChainruleError(
                f"{args.spec}: --values/--backward/--extended/--wrt draw dense networks (Linear layers and "
                "activations); this one is drawn as blocks"
            )
        scene = _blocks(args.spec, net, shape, loss)
    else:
        width = net.layers[0].in_features
        if args.input_shape is not None and tuple(shape) != (width,):  # it was silently ignored
            raise ChainruleError(f"--input-shape {args.input_shape}: {args.spec} takes {width} input features")
        if numbers and (x is None or y is None) and (args.values or args.backward or args.wrt is not None):
            raise ChainruleError(f"{args.spec}: --values/--backward/--wrt need the spec's x and y")
        if x is None:  # a picture of the structure only: any input and target will do, no number is shown
            from chainrule.explain.trace import default_loss
            from chainrule.nn.losses import CrossEntropyLoss

            x = np.zeros(width)
            loss = loss or default_loss(net)
            y = 0 if isinstance(loss, CrossEntropyLoss) else np.zeros(net.output_shape(x.shape))
        if np.ndim(x) != 1:
            raise ChainruleError(f"{args.spec}: draw works on one example x; x has shape {np.shape(x)}")
        scene = layout(_graph(args, net, x, y, loss))
    if fmt == "svg":
        out: str | bytes = to_svg(scene)
    else:
        from chainrule.draw.raster import to_raster

        out = to_raster(scene, fmt)
    if args.output:
        from chainrule.files import write_output

        write_output(args.output, out, "-o", {f"input file {args.spec}": args.spec})
    else:
        sys.stdout.write(str(out))
    return 0


def _graph(args: "argparse.Namespace", net: Any, x: Any, y: Any, loss: Any) -> Any:
    from chainrule.errors import ChainruleError
    from chainrule.explain.numbers import NumberFormat
    from chainrule.explain.picture import network_graph, notation
    from chainrule.explain.trace import run as trace_run

    try:
        trace = trace_run(net, x, y, loss)
    except ChainruleError as err:
        raise ChainruleError(f"{args.spec}: {err}") from None
    wrt = notation(trace).parse_wrt(args.wrt) if args.wrt is not None else None
    return network_graph(
        trace,
        NumberFormat(args.decimals),
        extended=args.extended,
        values=args.values,
        backward=args.backward,
        labels=args.labels,
        wrt=wrt,
    )


def _blocks(source: str, net: Any, shape: Any, loss: Any = None) -> Any:
    from chainrule.draw.blocks import blocks_scene
    from chainrule.draw.layers import network_blocks
    from chainrule.errors import ChainruleError

    if shape is None:
        raise ChainruleError(f"{source}: the input shape is not known; give --input-shape C,H,W (or the spec's input)")
    try:
        blocks, ops = network_blocks(net, tuple(shape))
    except ChainruleError as err:
        raise ChainruleError(f"{source}: {err}") from None
    from chainrule.nn.losses import CrossEntropyLoss

    if isinstance(loss, CrossEntropyLoss) and ops and "softmax" not in ops[-1]:
        ops[-1] += "\n+ softmax (in the loss)"  # the spec's softmax is fused into the cross-entropy
    widths = " → ".join("×".join(map(str, b.shape)) for b in blocks)
    return blocks_scene(blocks, ops, title=f"Network: {widths}")
