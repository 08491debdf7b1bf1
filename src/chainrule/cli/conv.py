"""``chainrule conv``: the convolution worksheet (recitation 4.2 a), forward and optionally backward.

    chainrule conv --input '[[2,3,-1,2],[4,1,0,1],[-2,1,3,2],[-1,-2,0,5]]' \\
                   --kernel '[[1,0,1],[-1,0,-1],[1,0,1]]'
    chainrule conv --input x.npy --kernel f.csv --padding 1 --backward --grad-output g.json
    chainrule conv --transpose --input '[[1,2],[3,4]]' --kernel '[[1,0],[0,1]]' --stride 2
"""

import argparse
from typing import Any

ORDER = 35


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "conv",
        help="work a convolution cell by cell (forward, and backward with --backward)",
        description="Print the padded input, every output cell as its sum of products, and Y; with --backward "
        "also the kernel and input gradients, cell by cell. Arrays are nested lists "
        "(JSON) or files (.npy, .csv, .json). The numbers are the engine's own (Conv2d).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: chainrule conv --input '[[2,3,-1,2],[4,1,0,1],[-2,1,3,2],[-1,-2,0,5]]' "
        "--kernel '[[1,0,1],[-1,0,-1],[1,0,1]]'",
    )
    p.add_argument(
        "--input", "-x", required=True, metavar="X", help="input: H×W matrix or C×H×W channels, inline or a file"
    )
    p.add_argument(
        "--kernel",
        "-k",
        required=True,
        metavar="F",
        help="kernel KH×KW, one filter C×KH×KW, or filters F×C×KH×KW (F×KH×KW for a 1-channel input)",
    )
    p.add_argument("--stride", "-s", default="1", help="S or SH×SW (default 1)")
    p.add_argument("--padding", "-p", default="0", help="P or PH×PW, 'same' or 'valid' (default 0)")
    p.add_argument("--dilation", "-d", default="1", help="D or DH×DW (default 1)")
    p.add_argument("--bias", "-b", metavar="B", help="one bias per filter, e.g. '[0.5]' (default: none)")
    p.add_argument("--backward", action="store_true", help="also work the backward pass")
    p.add_argument(
        "--grad-output",
        "-g",
        metavar="G",
        help="∂ℓ/∂Y, shaped like the output (default with --backward: all ones, ℓ = ΣY)",
    )
    p.add_argument(
        "--transpose",
        action="store_true",
        help="a transposed convolution (ConvTranspose2d): each input cell stamps the kernel into the output; "
        "the kernel is [C][O][KH][KW], PyTorch's layout",
    )
    p.add_argument(
        "--output-padding", default="0", help="with --transpose: rows/columns added at the bottom/right (default 0)"
    )
    p.add_argument(
        "--flip", action="store_true", help="true convolution: rotate the kernel by 180° first (frameworks do not)"
    )
    p.add_argument(
        "--format",
        choices=("text", "markdown", "latex", "json", "html"),
        default="text",
        dest="fmt",
        help="output format (default text); html: one self-contained page with the input, kernel and output "
        "grids, each line lighting its window, with step buttons",
    )
    p.add_argument("--standalone", action="store_true", help="with --format latex: a complete document")
    p.add_argument("--decimals", type=int, default=5, metavar="N", help="digits after the point (default 5)")
    p.add_argument("--cells", type=int, default=64, metavar="N", help="work at most N cells per section (default 64)")
    p.add_argument("--png", metavar="FILE", help="draw input, kernel and output with one window highlighted")
    p.add_argument(
        "--cell",
        default="1,1",
        metavar="I,J",
        help="with --png: the output cell whose window is highlighted (1-based, default 1,1)",
    )
    p.add_argument("--filter", type=int, default=1, metavar="O", help="with --png: which filter (1-based)")
    p.add_argument("--channel", type=int, default=1, metavar="C", help="with --png: which input channel (1-based)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the worksheet to FILE instead of standard output")
    p.set_defaults(func=run)


def load_array(text: str, flag: str) -> Any:
    """A nested list / array from inline JSON or a .npy / .csv / .json file (never pickle)."""
    import json
    from pathlib import Path

    import numpy as np

    from chainrule.errors import ChainruleError

    stripped = text.strip()
    path = Path(text)
    suffix = path.suffix.lower()
    if stripped[:1] in "[-0123456789." and not (suffix in (".npy", ".csv", ".json") and path.is_file()):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as e:
            raise ChainruleError(
                f"{flag} {text!r} is not a nested list of numbers such as [[1, 2], [3, 4]] "
                f"({e.msg} at character {e.pos})"
            ) from None
    if suffix not in (".npy", ".csv", ".json"):
        raise ChainruleError(
            f"{flag} {text!r}: give a nested list such as [[1, 2], [3, 4]] or a .npy, .csv or .json file"
        )
    if not path.is_file():
        raise ChainruleError(f"{flag} {text}: no such file")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".csv":
            return np.loadtxt(path, delimiter=",", ndmin=2, encoding="utf-8-sig")
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError) as e:
        raise ChainruleError(
            f"{flag} {text}: cannot read it as {suffix[1:]} numbers: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None


def _cell(text: str) -> tuple[int, ...]:
    """--cell "i,j" (1-based, as printed) -> 0-based (i, j)."""
    from chainrule.cli._args import dims

    i, j = dims(text, "--cell", (2,), minimum=1)
    return i - 1, j - 1


def run(args: "argparse.Namespace") -> int:
    import sys

    from chainrule.cli._args import padding_pair, pair
    from chainrule.errors import ChainruleError
    from chainrule.explain.convolution import conv_worksheet

    if args.grad_output is not None and not args.backward:
        raise ChainruleError("--grad-output goes with --backward")
    if args.standalone and args.fmt != "latex":
        raise ChainruleError("--standalone goes with --format latex")
    if not 0 <= args.decimals <= 15:
        raise ChainruleError(f"--decimals {args.decimals}: must be between 0 and 15")
    if args.cells < 1:
        raise ChainruleError(f"--cells must be ≥ 1, got {args.cells}")
    if args.transpose:
        ws = _transpose_worksheet(args)
    elif args.output_padding != "0":
        raise ChainruleError("--output-padding goes with --transpose")
    else:
        ws = conv_worksheet(
            load_array(args.input, "--input"),
            load_array(args.kernel, "--kernel"),
            stride=pair(args.stride, "--stride"),
            padding=padding_pair(args.padding, "--padding"),
            dilation=pair(args.dilation, "--dilation"),
            bias=None if args.bias is None else load_array(args.bias, "--bias"),
            grad_output=None if args.grad_output is None else load_array(args.grad_output, "--grad-output"),
            backward=args.backward,
            flip=args.flip,
        )
    if args.png:
        ws.png(args.png, _cell(args.cell), args.filter - 1, args.channel - 1)
    if args.fmt == "html":
        from chainrule.explain.web.conv import conv_page

        out = conv_page(ws, decimals=args.decimals, max_cells=args.cells)
    else:
        out = ws.render(args.fmt, decimals=args.decimals, max_cells=args.cells, standalone=args.standalone)
    if args.output:
        from chainrule.files import write_output

        write_output(
            args.output,
            out,
            "-o",
            {f"input file {f}": f for f in (args.input, args.kernel, args.bias, args.grad_output) if f},
        )
    else:
        sys.stdout.write(out)
    return 0


def _transpose_worksheet(args: "argparse.Namespace") -> Any:
    """--transpose: the forward pass of a ConvTranspose2d, cell by cell (the backward is not written out)."""
    from chainrule.cli._args import padding_pair, pair
    from chainrule.errors import ChainruleError
    from chainrule.explain.conv_transpose import conv_transpose_worksheet

    for flag, given in (("--backward", args.backward), ("--flip", args.flip), ("--png", args.png)):
        if given:
            raise ChainruleError(
                f"{flag} does not go with --transpose (the transposed worksheet works the forward pass)"
            )
    if args.fmt == "html":  # the page draws a Conv2d's windows and gradients (it was an internal error here)
        raise ChainruleError("--format html does not go with --transpose; give text, markdown, latex or json")
    padding = padding_pair(args.padding, "--padding")
    if isinstance(padding, str):
        raise ChainruleError(f"--padding {padding!r} does not go with --transpose; give a number of rows/columns")
    return conv_transpose_worksheet(
        load_array(args.input, "--input"),
        load_array(args.kernel, "--kernel"),
        stride=pair(args.stride, "--stride"),
        padding=padding,
        output_padding=pair(args.output_padding, "--output-padding"),
        dilation=pair(args.dilation, "--dilation"),
        bias=None if args.bias is None else load_array(args.bias, "--bias"),
    )
