"""``chainrule shape``: a convolution's output size, worked step by step as in the recitation (4.2 b).

chainrule shape 9x6 --kernel 5 --padding 4 --stride 3
H × W = 9 × 6;  H + 2P = 17 × 14;  − K = 12 × 9;  ⌊· / S⌋ = 4 × 3;  + 1 = 5 × 4
"""

import argparse

ORDER = 40
FORMATS = ("text", "markdown", "json")


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "shape",
        help="output size of a convolution or pooling layer, step by step",
        description="Work out ⌊(H + 2P − D(K−1) − 1)/S⌋ + 1 per axis, as the recitation does, and say "
        "which trailing rows/columns the floor leaves uncovered.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: chainrule shape 9x6 --kernel 5 --padding 4 --stride 3",
    )
    p.add_argument("size", help="input size H×W or H×W×C, e.g. 9x6 or 28x28x3")
    p.add_argument("--kernel", "-k", required=True, help="kernel size K or KH×KW")
    p.add_argument("--stride", "-s", default="1", help="stride S or SH×SW (default 1)")
    p.add_argument("--padding", "-p", default="0", help="padding P or PH×PW, or 'same' / 'valid' (default 0)")
    p.add_argument("--dilation", "-d", default="1", help="dilation D or DH×DW (default 1)")
    p.add_argument(
        "--filters",
        "-f",
        type=int,
        default=None,
        help="number of filters (output channels) when the input has channels",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(func=run)


def compute(args: "argparse.Namespace") -> dict:
    """Everything the renderers print, as plain data."""
    from chainrule.cli._args import dims, padding_pair, pair
    from chainrule.core import windows as win
    from chainrule.errors import ChainruleError

    size = dims(args.size, "input size", (2, 3), minimum=1)
    kernel = win.pair(pair(args.kernel, "kernel"), "kernel")
    stride = win.pair(pair(args.stride, "stride"), "stride")
    dilation = win.pair(pair(args.dilation, "dilation"), "dilation")
    padding = win.padding_arg(padding_pair(args.padding, "padding"))
    if args.filters is not None and args.filters < 1:
        raise ChainruleError(f"--filters must be ≥ 1, got {args.filters}")
    steps = win.size_steps((size[0], size[1]), kernel, stride, padding, dilation)
    out = [a.output for a in steps]
    channels = size[2] if len(size) == 3 else None
    if channels is not None:
        out.append(args.filters if args.filters else channels)
    return {
        "input": list(size),
        "kernel": list(kernel),
        "stride": list(stride),
        "dilation": list(dilation),
        "padding": [[a.pad_before, a.pad_after] for a in steps],
        "padding_given": padding if isinstance(padding, str) else list(padding),
        "padded": [a.padded for a in steps],
        "minus_kernel": [a.minus_kernel for a in steps],
        "divided": [a.divided for a in steps],
        "output": out,
        "uncovered": [a.uncovered for a in steps],
        "uncovered_input": [a.uncovered_real for a in steps],
        "channels_note": _channels_note(channels, args.filters),
        "steps": steps,
    }


def _channels_note(channels: int | None, filters: int | None) -> str | None:
    if channels is None:
        return None
    if filters:
        return (
            f"each of the {filters} filter(s) spans all {channels} input channel(s) and gives one output "
            f"channel: × {filters}"
        )
    return (
        f"× {channels} as in a depthwise convolution (one kernel per input channel, groups = {channels}); "
        "a standard convolution with F filters gives × F (use --filters F)"
    )


def rows(d: dict) -> list[tuple[str, str, str]]:
    """(what, H × W, why) lines of the calculation."""
    h, w = d["steps"]
    sym = all(a.pad_before == a.pad_after for a in (h, w))
    dil = any(a.dilation > 1 for a in (h, w))
    kx = "(D(K−1)+1)" if dil else "K"
    p = "2P" if sym else "P₁ + P₂"
    pnote = (
        f"P = {_pair_text(h.pad_before, w.pad_before)}"
        if sym
        else f"P₁ + P₂ = {h.pad_before}+{h.pad_after} × {w.pad_before}+{w.pad_after}"
    )
    if isinstance(d["padding_given"], str):
        pnote += f" ('{d['padding_given']}')"
    knote = f"K = {_pair_text(h.kernel, w.kernel)}"
    if dil:
        knote += f", D = {_pair_text(h.dilation, w.dilation)}: spans {_pair_text(h.extent, w.extent)}"
    return [
        ("H × W", f"{h.size} × {w.size}", ""),
        (f"H + {p} × W + {p}", f"{h.padded} × {w.padded}", pnote),
        (f"H + {p} − {kx} × W + {p} − {kx}", f"{h.minus_kernel} × {w.minus_kernel}", knote),
        ("⌊· / S⌋", f"{h.divided} × {w.divided}", f"S = {_pair_text(h.stride, w.stride)}"),
        ("+ 1", f"{h.output} × {w.output}", ""),
    ]


def _pair_text(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}×{b}"


def coverage_notes(d: dict) -> list[str]:
    notes = []
    for a, axis, unit in zip(d["steps"], ("height", "width"), ("row", "column"), strict=True):
        if a.uncovered == 0:
            continue
        real = a.uncovered_real
        which = (
            f"{real} of them real input"
            if real == a.uncovered
            else f"{real} real, {a.uncovered - real} padding"
            if real
            else "all of them padding"
        )
        notes.append(
            f"{axis}: {a.minus_kernel} / {a.stride} leaves remainder {a.uncovered}; the floor drops it, "
            f"so the last {a.uncovered} {unit}(s) of the padded input are never covered ({which})"
        )
    return notes or ["the division leaves no remainder: the windows cover every row and column of the padded input"]


def render_text(d: dict) -> str:
    h, w = d["steps"]
    lines = [
        f"Output size per axis: ⌊(H + 2P − {'D(K−1) − 1' if h.dilation > 1 or w.dilation > 1 else 'K'})/S⌋ + 1",
        "",
    ]
    table = rows(d)
    width = max(len(r[0]) for r in table)
    vwidth = max(len(r[1]) for r in table)
    for what, val, why in table:
        lines.append(f"  {what:<{width}} = {val:<{vwidth}}  {why}".rstrip())
    out = " × ".join(str(v) for v in d["output"])
    lines += ["", f"output: {out}"]
    if d["channels_note"]:
        lines.append(f"channels: {d['channels_note']}")
    lines += [f"note: {n}" for n in coverage_notes(d)]
    return "\n".join(lines)


def render_markdown(d: dict) -> str:
    lines = ["| step | H × W | |", "|---|---|---|"]
    lines += [f"| {what} | {val} | {why} |" for what, val, why in rows(d)]
    lines += ["", f"**Output: {' × '.join(str(v) for v in d['output'])}**", ""]
    if d["channels_note"]:
        lines.append(f"- channels: {d['channels_note']}")
    lines += [f"- {n}" for n in coverage_notes(d)]
    return "\n".join(lines)


def run(args: "argparse.Namespace") -> int:
    import json

    d = compute(args)
    if args.format == "json":
        print(json.dumps({k: v for k, v in d.items() if k != "steps"}))
    elif args.format == "markdown":
        print(render_markdown(d))
    else:
        print(render_text(d))
    return 0
