"""``chainrule export MODEL --onnx OUT.onnx``: write a model for any ONNX runtime.

MODEL is a model file (``chainrule train`` writes them) or a network spec (.toml). A model file's
metadata may carry
- ``extra["scaling"] = {"mean": [...], "scale": [...]}`` (or ``{"kind": …, "shift": [...], "scale":
  [...]}``): the exported graph then starts with x' = (x − mean) / scale, so it takes the raw inputs
  ``chainrule predict`` takes;
- ``extra["input_shape"]``: the network's input for one example, e.g. [1, 8, 8] for images;
- ``extra["example_shape"]``: a raw example's shape when it differs (e.g. [64], an image as a row):
  the graph takes that and reshapes after scaling;
- ``extra["target_scaling"]`` (regression models): the graph ends with y = y' · std + mean, so it
  outputs the targets' units as ``chainrule predict`` does.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from chainrule.nn.containers import Sequential

ORDER = 60


def register(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "export",
        help="write a model as ONNX (needs: pip install 'chainrule[onnx]')",
        description="Write a chainrule model (model file or .toml network spec) as a standard ONNX graph "
        "with a dynamic batch dimension, in --dtype (default: what onnxruntime runs). Feature "
        "scaling stored in the model file becomes the graph's first step.",
    )
    p.add_argument("model", metavar="MODEL", help="model file (.safetensors) or network spec (.toml)")
    p.add_argument("--onnx", metavar="OUT.onnx", required=True, help="where to write the ONNX model")
    p.add_argument(
        "--input-shape",
        metavar="SHAPE",
        help="one example's shape, e.g. 64 or 1,8,8 (default: from the model file, else the first layer)",
    )
    p.add_argument(
        "--softmax",
        action="store_true",
        help="end the graph with a softmax, so it outputs class probabilities rather than the "
        "logits a network trained with cross-entropy ends in",
    )
    p.add_argument(
        "--no-scaling", action="store_true", help="leave the model file's feature (and target) scaling out of the graph"
    )
    p.add_argument("--opset", type=int, default=None, help="ONNX opset version (default 17)")
    p.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="the graph's dtype (default: what onnxruntime runs: float32 for a network with "
        "convolution or average pooling, which onnxruntime has only in float32, else the "
        "model's own dtype)",
    )
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:

    from chainrule.cli._args import dims
    from chainrule.cli._load import load_network
    from chainrule.errors import ChainruleError
    from chainrule.export.onnx import OPSET, save_onnx
    from chainrule.files import refuse_overwrite

    net, extra = load_network(args.model)
    refuse_overwrite(args.onnx, "--onnx", {"model file itself": args.model})
    if args.softmax:
        from chainrule.nn.activations import Softmax
        from chainrule.nn.containers import Sequential

        if extra.get("task") == "regression":
            raise ChainruleError(f"{args.model}: --softmax gives class probabilities, but this is a regression model")
        if isinstance(net[-1], Softmax):
            raise ChainruleError(f"{args.model}: the network already ends in a softmax; drop --softmax")
        net = Sequential(*net.layers, Softmax())
    note = _convert(net, args.dtype)
    shape = extra.get("input_shape")
    if args.input_shape:
        shape = list(dims(args.input_shape, "--input-shape", (1, 2, 3), minimum=1))
        try:  # the layers say what they take, before ONNX's shape inference would
            net.output_shape(tuple(shape))
        except ChainruleError as e:
            raise ChainruleError(f"--input-shape {args.input_shape}: {e}") from None
    scaling = None if args.no_scaling else extra.get("scaling")
    if scaling is not None and not isinstance(scaling, dict):
        raise ChainruleError(
            f"{args.model}: metadata 'scaling' must be {{'mean': [...], 'scale': [...]}}, got {type(scaling).__name__}"
        )
    _check_stored_scalings(args, extra)
    opset = OPSET if args.opset is None else args.opset  # --opset 0 is refused by save_onnx, not the default
    example = None if args.input_shape else extra.get("example_shape")
    target = None if args.no_scaling else extra.get("target_scaling")
    proto = save_onnx(
        net, args.onnx, input_shape=shape, scaling=scaling, example_shape=example, opset=opset, target_scaling=target
    )

    def shape_text(value_info: Any) -> str:
        d = value_info.type.tensor_type.shape.dim
        return "(" + ", ".join(x.dim_param or str(x.dim_value) for x in d) + ")" if d else "(?)"

    if note:
        print(note)
    print(
        f"wrote {args.onnx}: ONNX opset {opset}, {net.dtype or 'float64'}, input {shape_text(proto.graph.input[0])} "
        f"-> output {shape_text(proto.graph.output[0])}"
        + (", feature scaling included" if scaling and scaling.get("kind") != "none" else "")
        + (", target scaling undone" if target and target.get("kind") != "none" else "")
    )
    return 0


# layers whose onnxruntime CPU kernels exist in float32 only
FLOAT32_ONLY = ("Conv2d", "ConvTranspose2d", "AvgPool2d", "AdaptiveAvgPool2d")


def _convert(net: "Sequential", dtype: str | None) -> str:
    """Cast ``net``'s weights to the graph's dtype in place; the note to print when they were converted."""
    import numpy as np

    have = np.dtype(net.dtype or np.float64)
    needs32 = sorted({type(m).__name__ for m in net.layers} & set(FLOAT32_ONLY))
    want = np.dtype(dtype) if dtype else (np.dtype(np.float32) if needs32 else have)
    if want == have:
        return ""
    for p in net.parameters():
        p.data = p.data.astype(want)
        p.grad = np.zeros_like(p.data)
    why = (
        f" (onnxruntime runs {' and '.join(needs32)} in float32 only; --dtype float64 keeps float64)"
        if dtype is None
        else ""
    )
    return f"note: the model's {have} weights are converted to {want} for the graph{why}"


def _check_stored_scalings(args: "argparse.Namespace", extra: dict) -> None:
    """A scaling stored by chainrule train (it has a "kind") with a scale of 0 or NaN is refused naming the
    model file, before it could become a division by zero or a constant output in the graph."""
    from chainrule.data.scaling import Scaler
    from chainrule.errors import ChainruleError

    for key, what in (("scaling", "feature"), ("target_scaling", "target")):
        stored = extra.get(key)
        if not args.no_scaling and isinstance(stored, dict) and "kind" in stored:
            try:
                Scaler.from_json(stored, what)
            except ChainruleError as e:
                raise ChainruleError(f"{args.model}: {e}") from None
