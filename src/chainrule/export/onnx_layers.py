"""One small function per layer type: the ONNX nodes that compute what the chainrule layer computes.

Each function takes the graph builder, the layer, the name of its input tensor and the layer's
path in the network ("0", "3", "1.2" …) and returns the name of its output tensor. The table is keyed
by the layer class; a layer that cannot be exported has a refusal there (a one-line error naming it).
Attributes follow https://onnx.ai/onnx/operators/ at opset 17.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn import activations as act
from chainrule.nn.adaptive_pool import AdaptiveAvgPool2d
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.conv_transpose import ConvTranspose2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d
from chainrule.nn.rectifiers import ELU, GELU, LeakyReLU, SiLU

if TYPE_CHECKING:
    from chainrule.export.onnx import GraphBuilder

T = TypeVar("T")


def _arg(parse: Callable[..., T], value: object, what: str, path: str) -> T:
    """``parse(value, what)`` (``win.pair``, ``win.padding_arg``), its error prefixed by the layer's path."""
    try:
        return parse(value, what)
    except ChainruleError as e:
        raise ChainruleError(f"layer {path}: {e}") from None


def _pads(
    padding: "int | tuple[int, int] | str",
    kernel: win.Pair,
    stride: win.Pair,
    dilation: win.Pair,
    hw: "tuple[int | None, ...]",
    path: str,
) -> list[int] | None:
    """ONNX pads [h_begin, w_begin, h_end, w_end] from chainrule's padding (int, pair, 'valid', 'same').

    The numbers are ``win.pads_for``'s, the layer's own. With 'same' and S > 1 the pads depend on H:
    None when H is not known statically (the caller then uses auto_pad=SAME_UPPER, the same rule).
    """
    padding = _arg(win.padding_arg, padding, "padding", path)
    if padding == "same" and any(s > 1 and size is None for s, size in zip(stride, hw, strict=True)):
        return None
    # an unknown size only reaches pads_for where the pads do not depend on it (a number, 'valid', S = 1)
    h, w = (1 if size is None else size for size in hw)
    top, bottom, left, right = win.pads_for((h, w), kernel, stride, dilation, padding)
    return [top, left, bottom, right]


# --- dense ---------------------------------------------------------------------------------------
def linear(g: "GraphBuilder", layer: Linear, x: str, path: str) -> str:
    """y = x Wᵀ + b as Gemm(transB=1); x : (N, in) -> y : (N, out). Initializers keep PyTorch's keys."""
    inputs = [x, g.const(f"{path}.weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(g.const(f"{path}.bias", layer.bias.data))
    return g.node("Gemm", inputs, path, transB=1)


def _elementwise(op: str) -> Callable:
    def convert(g: "GraphBuilder", layer: Module, x: str, path: str) -> str:
        return g.node(op, [x], path)

    convert.__doc__ = f"The layer as one ONNX {op} node (same shape in and out)."
    return convert


def softmax(g: "GraphBuilder", layer: act.Softmax, x: str, path: str) -> str:
    """Softmax along the layer's ``dim`` (opset ≥ 13 normalises along that one axis, as PyTorch)."""
    return g.node("Softmax", [x], path, axis=int(layer.dim))


def leaky_relu(g: "GraphBuilder", layer: LeakyReLU, x: str, path: str) -> str:
    return g.node("LeakyRelu", [x], path, alpha=float(layer.negative_slope))


def elu(g: "GraphBuilder", layer: ELU, x: str, path: str) -> str:
    return g.node("Elu", [x], path, alpha=float(layer.alpha))


def silu(g: "GraphBuilder", layer: SiLU, x: str, path: str) -> str:
    """x · Sigmoid(x) (ONNX has no SiLU operator)."""
    return g.node("Mul", [x, g.node("Sigmoid", [x], f"{path}.sigmoid")], path)


def log_softmax(g: "GraphBuilder", layer: LogSoftmax, x: str, path: str) -> str:
    return g.node("LogSoftmax", [x], path, axis=int(layer.dim))


def gelu(g: "GraphBuilder", layer: GELU, x: str, path: str) -> str:
    """ONNX Gelu from opset 20; below it (the default 17) the composite ½x(1 + erf(x/√2)) or, for 'tanh',
    ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if g.opset >= 20:
        return g.node("Gelu", [x], path, approximate=layer.approximate)
    import math

    if layer.approximate == "tanh":
        cube = g.node("Mul", [x, g.node("Mul", [x, x], f"{path}.sq")], f"{path}.cube")
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(f"{path}.c", [0.044715])], f"{path}.cx")], path)
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(f"{path}.k", [math.sqrt(2 / math.pi)])], f"{path}.u")], path)
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.const(f"{path}.k", [math.sqrt(0.5)])], f"{path}.u")], path)
    one_plus = g.node("Add", [t, g.const(f"{path}.one", [1.0])], f"{path}.one_plus")
    return g.node("Mul", [g.node("Mul", [x, one_plus], f"{path}.x"), g.const(f"{path}.half", [0.5])], path)


# --- convolution and pooling ---------------------------------------------------------------------
def conv2d(g: "GraphBuilder", layer: Conv2d, x: str, path: str) -> str:
    """Cross-correlation, NCHW; weight (out, in/groups, kh, kw) is ONNX's W layout unchanged."""
    cfg = layer.config()
    if cfg.get("padding_mode", "zeros") != "zeros":
        raise ChainruleError(
            f"layer {path} (Conv2d) has padding_mode={cfg['padding_mode']!r}; ONNX Conv pads with zeros only"
        )
    kh, kw = (int(k) for k in layer.weight.data.shape[2:])
    kernel = (kh, kw)
    stride = _arg(win.pair, cfg.get("stride", 1), "stride", path)
    dilation = _arg(win.pair, cfg.get("dilation", 1), "dilation", path)
    padding = cfg.get("padding", 0)
    hw = g.shape_of(x)[2:] if padding == "same" and stride != (1, 1) else (None, None)
    pads = _pads(padding, kernel, stride, dilation, hw or (None, None), path)
    inputs = [x, g.const(f"{path}.weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(g.const(f"{path}.bias", layer.bias.data))
    pad_attr = {"pads": pads} if pads is not None else {"auto_pad": "SAME_UPPER"}
    return g.node(
        "Conv",
        inputs,
        path,
        kernel_shape=list(kernel),
        strides=list(stride),
        dilations=list(dilation),
        group=int(cfg.get("groups", 1)),
        **pad_attr,
    )


def conv_transpose2d(g: "GraphBuilder", layer: ConvTranspose2d, x: str, path: str) -> str:
    """ConvTranspose; weight (in, out/groups, kh, kw) is ONNX's W layout (C, M/group, kH, kW) unchanged."""
    ph, pw = layer.padding
    inputs = [x, g.const(f"{path}.weight", layer.weight.data)]
    if layer.bias is not None:
        inputs.append(g.const(f"{path}.bias", layer.bias.data))
    return g.node(
        "ConvTranspose",
        inputs,
        path,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        dilations=list(layer.dilation),
        pads=[ph, pw, ph, pw],
        output_padding=list(layer.output_padding),
        group=int(layer.groups),
    )


def _pool_attrs(cfg: dict, path: str) -> tuple[dict, tuple[int, int], tuple[int, int]]:
    kernel = _arg(win.pair, cfg["kernel_size"], "kernel_size", path)
    stride = kernel if cfg.get("stride") is None else _arg(win.pair, cfg["stride"], "stride", path)
    dilation = _arg(win.pair, cfg.get("dilation", 1), "dilation", path)
    attrs = {
        "kernel_shape": list(kernel),
        "strides": list(stride),
        "pads": _pads(cfg.get("padding", 0), kernel, stride, dilation, (None, None), path),
        "ceil_mode": int(bool(cfg.get("ceil_mode", False))),
    }
    return attrs, kernel, dilation


def maxpool2d(g: "GraphBuilder", layer: MaxPool2d, x: str, path: str) -> str:
    """Max over each window; padded cells never win (PyTorch pads with −∞, ONNX ignores pads)."""
    attrs, _, dilation = _pool_attrs(layer.config(), path)
    return g.node("MaxPool", [x], path, dilations=list(dilation), **attrs)


def avgpool2d(g: "GraphBuilder", layer: AvgPool2d, x: str, path: str) -> str:
    """Mean over each window; count_include_pad as the layer says (PyTorch's default: padded zeros count)."""
    cfg = layer.config()
    if cfg.get("divisor_override") is not None:
        raise ChainruleError(
            f"layer {path} (AvgPool2d) has divisor_override={cfg['divisor_override']}; "
            "ONNX AveragePool has no equivalent"
        )
    attrs, _, dilation = _pool_attrs(cfg, path)
    if dilation != (1, 1):  # AveragePool has dilations only from opset 19
        raise ChainruleError(f"layer {path} (AvgPool2d) has dilation {dilation}; not exported at opset 17")
    return g.node("AveragePool", [x], path, count_include_pad=int(bool(cfg.get("count_include_pad", True))), **attrs)


def adaptive_avgpool2d(g: "GraphBuilder", layer: AdaptiveAvgPool2d, x: str, path: str) -> str:
    """GlobalAveragePool for output size 1; AveragePool with kernel = stride = H/OH when the tiles are equal;
    other sizes (windows of different sizes) have no ONNX operator and are refused, naming the sizes."""
    if tuple(layer.output_size) == (1, 1):
        return g.node("GlobalAveragePool", [x], path)
    shape = g.shape_of(x)
    hw = tuple(shape[2:]) if len(shape) == 4 else (None, None)
    if None in hw:
        raise ChainruleError(f"layer {path} (AdaptiveAvgPool2d) needs a known input size to be exported")
    oh, ow = layer.output_hw(hw)
    if hw[0] % oh or hw[1] % ow:
        raise ChainruleError(
            f"layer {path} (AdaptiveAvgPool2d) pools {hw[0]}×{hw[1]} to {oh}×{ow}: windows of unequal "
            "sizes, which no ONNX operator computes; use a size that divides the input, or 1"
        )
    tile = [hw[0] // oh, hw[1] // ow]
    return g.node("AveragePool", [x], path, kernel_shape=tile, strides=tile, pads=[0, 0, 0, 0])


def flatten(g: "GraphBuilder", layer: Flatten, x: str, path: str) -> str:
    """(N, C, H, W) -> (N, C·H·W): ONNX Flatten(axis=1) is PyTorch's Flatten(start_dim=1, end_dim=-1)."""
    cfg = layer.config()
    start, end = int(cfg.get("start_dim", 1)), int(cfg.get("end_dim", -1))
    if (start, end) != (1, -1):
        raise ChainruleError(
            f"layer {path} (Flatten) has start_dim={start}, end_dim={end}; ONNX Flatten "
            "exports only start_dim=1, end_dim=-1 (keep the batch axis, flatten the rest)"
        )
    return g.node("Flatten", [x], path, axis=1)


# --- normalisation and regularisation ------------------------------------------------------------
def batchnorm(g: "GraphBuilder", layer: BatchNorm1d | BatchNorm2d, x: str, path: str) -> str:
    """Eval form: BatchNormalization with the running statistics, y = γ (x − r_μ)/√(r_σ² + ε) + β."""
    if not layer.track_running_stats:
        raise ChainruleError(
            f"layer {path} ({type(layer).__name__}) has track_running_stats=False: it "
            "normalises by each batch's statistics even when predicting, which ONNX's "
            "BatchNormalization (eval form) cannot express"
        )
    c = layer.num_features
    scale = layer.weight.data if layer.weight is not None else np.ones(c)  # None: not affine
    shift = layer.bias.data if layer.bias is not None else np.zeros(c)
    inputs = [
        x,
        g.const(f"{path}.weight", scale),
        g.const(f"{path}.bias", shift),
        g.const(f"{path}.running_mean", layer.running_mean),
        g.const(f"{path}.running_var", layer.running_var),
    ]
    return g.node("BatchNormalization", inputs, path, epsilon=float(layer.eps))


def dropout(g: "GraphBuilder", layer: Dropout, x: str, path: str) -> str:
    """Removed at export: an exported model predicts, and Dropout is the identity when predicting."""
    return x


def refuse(why: str) -> Callable:
    def convert(g: "GraphBuilder", layer: Module, x: str, path: str) -> str:
        raise ChainruleError(f"layer {path} ({type(layer).__name__}) cannot be exported to ONNX: {why}")

    return convert


LAYERS: dict[type, Callable] = {
    Linear: linear,
    act.Tanh: _elementwise("Tanh"),
    act.Sigmoid: _elementwise("Sigmoid"),
    act.ReLU: _elementwise("Relu"),
    act.Identity: _elementwise("Identity"),
    act.Softmax: softmax,
    LeakyReLU: leaky_relu,
    ELU: elu,
    GELU: gelu,
    SiLU: silu,
    LogSoftmax: log_softmax,
    Conv2d: conv2d,
    ConvTranspose2d: conv_transpose2d,
    AdaptiveAvgPool2d: adaptive_avgpool2d,
    MaxPool2d: maxpool2d,
    AvgPool2d: avgpool2d,
    Flatten: flatten,
    BatchNorm1d: batchnorm,
    BatchNorm2d: batchnorm,
    Dropout: dropout,
    # not layers of their own: a Sequential is walked by the exporter, Activation is an abstract base
    Sequential: refuse("a Sequential is exported through its layers"),
    act.Activation: refuse("Activation is an abstract base class; use Tanh, Sigmoid, ReLU, …"),
}

# layers whose output has the shape of their input: they do not decide the network's input shape
SHAPE_PRESERVING = {
    act.Tanh,
    act.Sigmoid,
    act.ReLU,
    act.Identity,
    act.Softmax,
    Dropout,
    BatchNorm1d,
    BatchNorm2d,
    LeakyReLU,
    ELU,
    GELU,
    SiLU,
    LogSoftmax,
}
