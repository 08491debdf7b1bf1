"""ONNX export: a chainrule network as a standard ONNX graph, built with the ``onnx`` package's helpers.

    input (N, *input_shape) ─[Sub mean, Div scale]─ layer 0 ─ layer 1 ─ … ─[Mul std, Add mean]─ output (N, …)

N is a symbolic batch dimension; every tensor is in the model's dtype (float32 or float64). When
training scaled the features, x' = (x − mean) / scale is the graph's first step, so the ONNX model
takes the same raw inputs as ``chainrule predict``; when training standardised regression targets,
y = y' · std + mean is the last step, so the graph outputs the targets' units as ``predict`` does.
Each layer becomes nodes through one function in ``onnx_layers``; a layer without one is an error
naming it, raised before anything is written.
``onnx`` is imported only inside these functions: the core package runs without it.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from chainrule.errors import ChainruleError
from chainrule.export.onnx_layers import LAYERS, SHAPE_PRESERVING
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.conv_transpose import ConvTranspose2d
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module

if TYPE_CHECKING:
    import onnx

OPSET = 17  # ONNX Runtime ≥ 1.13 and every current converter read it; Softmax is per-axis from 13 on
INPUT, OUTPUT, BATCH = "input", "output", "N"


def _onnx() -> ModuleType:
    try:
        import onnx
    except ImportError:
        raise ChainruleError("ONNX export needs the onnx package: pip install 'chainrule[onnx]'") from None
    return onnx


class GraphBuilder:
    """Collects nodes and initializers (constants in the graph's dtype) and hands out unique names."""

    def __init__(self, onnx: ModuleType, dtype: np.dtype, input_info: "onnx.ValueInfoProto", opset: int) -> None:
        self.onnx, self.dtype, self.input_info, self.opset = onnx, dtype, input_info, opset
        self.nodes: list = []  # onnx.NodeProto
        self.initializers: list = []  # onnx.TensorProto
        self._used = {INPUT}

    def shape_of(self, name: str) -> tuple:
        """The static shape of tensor ``name`` in the graph built so far (None for unknown dims),
        from ONNX's own shape inference."""
        h = self.onnx.helper
        probe = h.make_graph(self.nodes, "probe", [self.input_info], [], self.initializers)
        inferred = self.onnx.shape_inference.infer_shapes(
            h.make_model(probe, opset_imports=[h.make_opsetid("", self.opset)])
        )
        infos = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.input]}
        if name not in infos:
            return ()
        return tuple(d.dim_value if d.HasField("dim_value") else None for d in infos[name].type.tensor_type.shape.dim)

    def fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def const(self, name: str, array: ArrayLike, dtype: DTypeLike | None = None) -> str:
        """An initializer holding a copy of ``array`` (later training can't leak in), in the graph's dtype
        unless another is given."""
        name = self.fresh(name)
        data = np.ascontiguousarray(array, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(data, name))
        return name

    def node(self, op: str, inputs: list[str], path: str, **attrs: object) -> str:
        out = self.fresh(f"{path}.{op.lower()}")
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=f"{path}:{op}", **attrs))
        return out


def layers_of(model: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """The leaf layers in order, each with its path ("0", "2", "1.3" for nested Sequentials)."""
    if not isinstance(model, Sequential):
        return [(prefix.rstrip(".") or "0", model)]
    out = []
    for i, layer in enumerate(model):
        out.extend(layers_of(layer, f"{prefix}{i}.") if isinstance(layer, Sequential) else [(f"{prefix}{i}", layer)])
    return out


def _shape(value: object, what: str) -> tuple[int, ...]:
    shape = tuple(np.atleast_1d(np.asarray(value)).tolist())
    if not shape or not all(isinstance(s, int) and s >= 1 for s in shape):
        raise ChainruleError(
            f"{what} {value!r} must be a list of positive integers "
            "(one example's shape without the batch axis, e.g. [64] or [1, 8, 8])"
        )
    return shape


def _input_shape(layers: list[tuple[str, Module]], input_shape: object) -> tuple:
    """Shape of one example: the given one, else read off the first layer that fixes it.

    A Linear fixes (in_features,); a Conv2d or ConvTranspose2d fixes only its channels, so H and W stay symbolic.
    """
    if input_shape is not None:
        return _shape(input_shape, "input shape")
    for path, layer in layers:
        kind = type(layer).__name__
        if kind == "Linear":
            return (cast(Linear, layer).in_features,)
        if kind == "Conv2d":
            return (int(cast(Conv2d, layer).weight.data.shape[1]) * int(layer.config().get("groups", 1)), "H", "W")
        if kind == "ConvTranspose2d":
            return (cast(ConvTranspose2d, layer).in_channels, "H", "W")
        if type(layer) not in SHAPE_PRESERVING:
            raise ChainruleError(
                f"cannot tell the network's input shape from its layer {path} ({kind}); "
                "give the input shape (e.g. input_shape=[1, 8, 8], or --input-shape 1,8,8)"
            )
    raise ChainruleError(
        "cannot tell the network's input shape (it has no Linear or Conv2d layer); give the input shape"
    )


def _scaling_arrays(scaling: object, shape: tuple) -> tuple[np.ndarray, np.ndarray] | None:
    """mean and scale, shaped to broadcast against (N, *shape): one value per input value, per channel
    (images), or one for all. None when the scaling is the identity ({"kind": "none"}).

    Accepts {"mean": m, "scale": s}, a (mean, scale) pair, or the training code's stored form
    {"kind": "standard" | "minmax", "shift": m, "scale": s}.
    """
    if isinstance(scaling, dict):
        if scaling.get("kind") == "none":
            return None
        centre = "shift" if "shift" in scaling and "mean" not in scaling else "mean"
        missing = [k for k in (centre, "scale") if k not in scaling]
        if missing:
            raise ChainruleError(f"scaling needs 'mean' (or 'shift') and 'scale'; missing {', '.join(missing)}")
        pair: tuple = scaling[centre], scaling["scale"]
    else:
        try:
            pair = tuple(scaling)  # type: ignore[arg-type]  # not iterable: refused below
        except TypeError:
            pair = ()
        if len(pair) != 2:
            raise ChainruleError("scaling must be {'mean': [...], 'scale': [...]} or a (mean, scale) pair")
    out = []
    for what, values in zip(("mean", "scale"), pair, strict=True):
        try:
            a: np.ndarray = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError) as e:
            raise ChainruleError(f"scaling {what} must be a list of numbers: {e}") from None
        if not np.all(np.isfinite(a)):
            raise ChainruleError(f"scaling {what} contains NaN or infinity")
        known = all(isinstance(s, int) for s in shape)
        if known and a.size == int(np.prod(shape)):
            a = a.reshape(shape)
        elif len(shape) == 3 and isinstance(shape[0], int) and a.size == shape[0]:
            a = a.reshape(shape[0], 1, 1)  # one value per channel
        elif a.size != 1:
            want = f"{int(np.prod(shape))} (one per input value), " if known else ""
            chan = f"{shape[0]} (one per channel), " if len(shape) == 3 else ""
            raise ChainruleError(
                f"scaling {what} has {a.size} values; for inputs of shape {tuple(shape)} expected {want}{chan}or 1"
            )
        out.append(a)
    if np.any(out[1] == 0):
        raise ChainruleError("scaling scale contains 0; x' = (x − mean) / scale would divide by zero")
    return out[0], out[1]


def _target_arrays(target_scaling: dict | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(std, mean) of the stored target standardisation {"kind", "shift", "scale"}, one per output;
    None for none."""
    if target_scaling is None or target_scaling.get("kind") == "none":
        return None
    try:
        pair = tuple(np.asarray(target_scaling[k], dtype=np.float64).ravel() for k in ("scale", "shift"))
    except (KeyError, TypeError, ValueError) as e:
        raise ChainruleError(f"the stored target scaling is damaged ({type(e).__name__}: {e})") from None
    if not all(np.all(np.isfinite(a)) for a in pair):
        raise ChainruleError("the stored target scaling contains NaN or infinity")
    return pair[0], pair[1]


def onnx_model(
    model: Module,
    input_shape: "Sequence[int] | None" = None,
    scaling: "dict | Sequence | None" = None,
    example_shape: "Sequence[int] | None" = None,
    opset: int = OPSET,
    name: str = "chainrule",
    target_scaling: dict | None = None,
) -> "onnx.ModelProto":
    """An ``onnx.ModelProto`` computing ``model``'s forward pass; checked with ``onnx.checker``.

    input_shape   : the network's input for one example, e.g. (64,) or (1, 8, 8); default: read off
                    the first layer.
    example_shape : the raw example's shape when it differs from input_shape (e.g. (64,) for an
                    8×8 image stored as a row); the graph then reshapes after scaling.
    scaling       : optional {"mean": m, "scale": s} (or (m, s)); the graph then computes
                    model((x − m) / s). m, s have one value per raw value, per channel, or one.
    target_scaling: optional stored {"kind": "standard", "shift": mean, "scale": std} of a regression
                    model's targets (one per output); the graph then ends with output · std + mean.
    The graph's input "input" is (N, *example_shape), its output "output" is (N, …).
    """
    onnx = _onnx()
    from onnx import helper

    newest = onnx.defs.onnx_opset_version()
    if not 13 <= int(opset) <= newest:  # below 13, Softmax flattens to 2-D instead of using one axis
        raise ChainruleError(f"ONNX opset {opset} is not supported; expected 13 … {newest} (default {OPSET})")

    layers = layers_of(model)
    for path, layer in layers:
        if type(layer) not in LAYERS:
            raise ChainruleError(
                f"layer {path} ({type(layer).__name__}) has no ONNX equivalent; chainrule "
                f"exports {', '.join(c.__name__ for c in LAYERS)}"
            )
    dtype = np.dtype(model.dtype or np.float64)
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    shape = _input_shape(layers, input_shape)
    raw = shape if example_shape is None else _shape(example_shape, "example shape")
    if raw != shape and not (all(isinstance(d, int) for d in shape) and np.prod(raw) == np.prod(shape)):
        raise ChainruleError(
            f"examples of shape {raw} cannot be reshaped to the network's input shape "
            f"{shape}: they hold {int(np.prod(raw))} values"
        )

    input_info = helper.make_tensor_value_info(INPUT, elem, [BATCH, *raw])
    g = GraphBuilder(onnx, dtype, input_info, opset)
    x = INPUT
    arrays = None if scaling is None else _scaling_arrays(scaling, raw)
    if arrays is not None:
        x = g.node("Sub", [x, g.const("scaling.mean", arrays[0])], "scaling")
        x = g.node("Div", [x, g.const("scaling.scale", arrays[1])], "scaling")
    if raw != shape:  # 0 keeps the batch size: (N, *raw) -> (N, *shape)
        x = g.node("Reshape", [x, g.const("reshape.shape", [0, *shape], dtype=np.int64)], "reshape")
    for path, layer in layers:
        x = LAYERS[type(layer)](g, layer, x, path)
    target = _target_arrays(target_scaling)
    if target is not None:  # (N, outputs) · std + mean: the targets' own units
        x = g.node("Mul", [x, g.const("target_scaling.scale", target[0])], "target_scaling")
        x = g.node("Add", [x, g.const("target_scaling.mean", target[1])], "target_scaling")
    if x == INPUT:
        x = g.node("Identity", [x], "empty")
    g.nodes[-1].output[0] = OUTPUT  # the last node's result is the graph's output

    graph = helper.make_graph(
        g.nodes, name, [input_info], [helper.make_tensor_value_info(OUTPUT, elem, None)], g.initializers
    )
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        graph, opset_imports=opsets, producer_name="chainrule", ir_version=helper.find_min_ir_version_for(opsets)
    )
    from chainrule import __version__

    proto.producer_version = __version__
    proto.doc_string = f"chainrule network {type(model).__name__} with {len(layers)} layer(s)"
    proto = _with_output_shape(onnx, proto, raw)
    onnx.checker.check_model(proto)
    return proto


def _with_output_shape(onnx: ModuleType, proto: "onnx.ModelProto", shape: tuple) -> "onnx.ModelProto":
    """Infer every shape (strictly: a network that does not fit its input shape is an error here)
    and declare the output's shape, so a runtime sees (N, classes) without running the graph."""
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ChainruleError(f"the network does not accept inputs of shape {tuple(shape)}: {first}") from None
    out_info = {v.name: v for v in inferred.graph.value_info}.get(OUTPUT)
    if out_info is None:
        out_info = inferred.graph.output[0]
    if out_info.type.tensor_type.HasField("shape"):
        proto.graph.output[0].type.tensor_type.shape.CopyFrom(out_info.type.tensor_type.shape)
    return proto


def save_onnx(
    model: Module,
    path: "str | os.PathLike",
    input_shape: "Sequence[int] | None" = None,
    scaling: "dict | Sequence | None" = None,
    example_shape: "Sequence[int] | None" = None,
    opset: int = OPSET,
    target_scaling: dict | None = None,
) -> "onnx.ModelProto":
    """Write ``onnx_model(model, …)`` to ``path`` atomically (on any error no file, or the old one,
    remains) and return the ``onnx.ModelProto`` written."""
    from chainrule.files import atomic_write_bytes

    path = Path(path)
    if path.is_dir():
        raise ChainruleError(f"{path}: is a folder; give a file name such as model.onnx")
    if not path.parent.is_dir():
        raise ChainruleError(f"{path}: folder {path.parent} does not exist")
    proto = onnx_model(
        model,
        input_shape=input_shape,
        scaling=scaling,
        example_shape=example_shape,
        opset=opset,
        target_scaling=target_scaling,
    )
    atomic_write_bytes(path, proto.SerializeToString())
    return proto
