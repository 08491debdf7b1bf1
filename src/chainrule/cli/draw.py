"""``chainrule draw SPEC``: the network as an SVG picture (the recitation's Figures 1–3).

chainrule draw examples/recitation-3.1.toml --labels none -o fig1.svg             # Figure 1
chainrule draw examples/recitation-3.1.toml --extended --wrt 'alpha[1,1]' --values   # Figure 2
chainrule draw examples/recitation-3.1.toml --values -o fig3.svg                  # Figure 3
"""

ORDER = 22


def register(sub) -> None:
    p = sub.add_parser(
        "draw",
        help="draw a dense network as SVG, optionally with its forward values and gradients",
        description="Write a picture of the network in SPEC as SVG: input nodes with the +1 bias node, "
        "hidden units, the output and the loss; edges labelled with their weights.",
    )
    p.add_argument("spec", metavar="SPEC", help="network spec file (TOML); see examples/")
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
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    import numpy as np

    from chainrule.draw import layout, to_svg
    from chainrule.errors import ChainruleError
    from chainrule.explain.numbers import NumberFormat
    from chainrule.explain.picture import network_graph, notation
    from chainrule.explain.trace import run as trace_run
    from chainrule.spec import load_spec

    if not 0 <= args.decimals <= 15:
        raise ChainruleError(f"--decimals {args.decimals}: must be between 0 and 15")
    spec = load_spec(args.spec)
    net, loss = spec.build(rng=0)
    numbers = args.values or args.backward or args.wrt is not None
    if numbers and (spec.x is None or spec.y is None):
        raise ChainruleError(f"{args.spec}: --values/--backward need the spec's x and y")
    x, y = spec.x, spec.y
    if x is None:  # a picture of the structure only: any input will do, no number is shown
        x = np.zeros(net.layers[0].in_features) if hasattr(net.layers[0], "in_features") else None
        y = 0
    if x is None or np.ndim(x) != 1:
        raise ChainruleError(
            f"{args.spec}: draw works on dense networks (Linear layers and activations) with one example x"
        )
    try:
        trace = trace_run(net, x, y, loss)
    except ChainruleError as err:
        raise ChainruleError(f"{args.spec}: {err}") from None
    wrt = notation(trace).parse_wrt(args.wrt) if args.wrt is not None else None
    g = network_graph(
        trace,
        NumberFormat(args.decimals),
        extended=args.extended,
        values=args.values,
        backward=args.backward,
        labels=args.labels,
        wrt=wrt,
    )
    out = to_svg(layout(g))
    if args.output:
        from chainrule.files import write_output

        write_output(args.output, out, "-o", {f"input file {args.spec}": args.spec})
    else:
        sys.stdout.write(out)
    return 0
