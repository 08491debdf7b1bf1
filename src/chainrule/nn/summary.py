"""A network's layers with each output shape, parameter count, and the formula that produced the shape.

    summary(net, (1, 8, 8))  ->  Conv2d(1, 4, 3, padding=1)   4×8×8   40   H, W: ⌊(8 + 2 − 3)/1⌋ + 1 = 8 …

Shapes are per example (no batch axis), from each layer's own ``output_shape`` (nothing runs, no buffer
moves); the formulas come from ``SHAPE_RULES``, one entry per layer type, written from the layer's arguments.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.activations import Activation, Identity, ReLU, Sigmoid, Softmax, Tanh
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


@dataclass
class SummaryRow:
    index: int
    layer: str
    output_shape: tuple[int, ...]
    params: int
    params_formula: str
    shape_formula: str


@dataclass
class Summary:
    input_shape: tuple[int, ...]
    rows: list[SummaryRow]

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    def to_dict(self) -> dict:
        return {
            "input_shape": list(self.input_shape),
            "total_params": self.total_params,
            "layers": [
                {
                    "index": r.index,
                    "layer": r.layer,
                    "output_shape": list(r.output_shape),
                    "params": r.params,
                    "params_formula": r.params_formula,
                    "shape_formula": r.shape_formula,
                }
                for r in self.rows
            ],
        }

    def table(self) -> list[list[str]]:
        head = ["#", "layer", "output", "params", "how"]
        body = [["", "input", _shape(self.input_shape), "", ""]]
        for r in self.rows:
            how = "; ".join(f for f in (r.shape_formula, r.params_formula) if f)
            body.append([str(r.index), r.layer, _shape(r.output_shape), f"{r.params:,}" if r.params else "0", how])
        return [head, *body]

    def __str__(self) -> str:
        rows = self.table()
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for row in rows:
            cells = [
                row[0].rjust(widths[0]),
                row[1].ljust(widths[1]),
                row[2].ljust(widths[2]),
                row[3].rjust(widths[3]),
                row[4],
            ]
            lines.append("  ".join(cells).rstrip())
        lines.append(f"total parameters: {self.total_params:,}")
        return "\n".join(lines)

    def markdown(self) -> str:
        rows = self.table()
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows[1:]]
        lines.append(f"\n**Total parameters: {self.total_params:,}**")
        return "\n".join(lines)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)


def infer_input_shape(model: Module) -> tuple[int, ...] | None:
    """A dense network's input width; None when the first layer that fixes it needs an image size."""
    for layer in _layers(model):
        fixes = INPUT_SHAPE.get(type(layer))
        if fixes is not None:  # else shape-preserving: the next layer decides
            return fixes(layer)
    return None


def summary(model: Module, input_shape: "Sequence[int] | None" = None) -> Summary:
    """The per-layer table of ``model`` for one example of ``input_shape`` ((C, H, W) or (features,))."""
    layers = _layers(model)
    shape = tuple(int(s) for s in input_shape) if input_shape is not None else infer_input_shape(model)
    if shape is None:
        raise ChainruleError(
            "cannot tell this network's input size: it starts with an image layer; give the "
            "size of one example as C×H×W (for example --input 1x8x8)"
        )
    rows = []
    after = shape
    for i, layer in enumerate(layers):
        before = after
        try:
            after = layer.output_shape(before)  # each layer's own rule: nothing runs, no buffer moves
        except ChainruleError as e:
            raise ChainruleError(f"layer {i} ({layer!r}) on an input of shape {_shape(before)}: {e}") from None
        rows.append(
            SummaryRow(
                i,
                repr(layer),
                after,
                layer.num_parameters(),
                _params_formula(layer),
                _shape_formula(layer, before, after),
            )
        )
    return Summary(shape, rows)


def _layers(model: Module) -> list[Module]:
    return list(model.layers) if isinstance(model, Sequential) else [model]


def _params_formula(layer: Module) -> str:
    """ "params 4·1·3·3 + 4 = 40": each parameter's shape, as the layer holds it (Linear, Conv2d, ConvTranspose2d)."""
    params = [p for _, p in layer.named_parameters()]
    if not params or isinstance(layer, (BatchNorm1d, BatchNorm2d)):  # γ and β: one each per feature, no formula
        return ""
    return f"params {' + '.join('·'.join(str(n) for n in p.shape) for p in params)} = {layer.num_parameters():,}"


Shape = tuple[int, ...]
# (layer, shape before, shape after) -> the formula; the layer is the table key's own class
Rule = Callable[[Any, Shape, Shape], str]


def _shape_formula(layer: Module, before: tuple[int, ...], after: tuple[int, ...]) -> str:
    rule = SHAPE_RULES.get(type(layer))
    if rule is None:
        raise ChainruleError(f"summary has no shape rule for layer type {type(layer).__name__}")
    return rule(layer, before, after)


def _windows(layer: "Conv2d | MaxPool2d | AvgPool2d", before: Shape, after: Shape) -> str:
    h, w = before[-2:]
    steps = win.size_steps((h, w), layer.kernel_size, layer.stride, layer.padding, getattr(layer, "dilation", (1, 1)))
    parts = [_axis(a) for a in steps]
    if getattr(layer, "ceil_mode", False):  # PyTorch's rounding up, not the floor
        parts = [_ceil_axis(a, o) for a, o in zip(steps, after[-2:], strict=True)]
    return _both_axes(parts)


def _both_axes(parts: list[str]) -> str:
    return f"H, W: {parts[0]}" if parts[0] == parts[1] else f"H: {parts[0]}; W: {parts[1]}"


def _conv(layer: Conv2d, before: Shape, after: Shape) -> str:
    return f"{_windows(layer, before, after)}; C = {layer.out_channels} filters"


def _conv_transpose(layer: ConvTranspose2d, before: Shape, after: Shape) -> str:
    """(H − 1)·S − 2P + D(K − 1) + output_padding + 1 with the numbers filled in."""
    parts = [
        f"({n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {o}"
        for n, s, p, d, k, op, o in zip(
            before[-2:],
            layer.stride,
            layer.padding,
            layer.dilation,
            layer.kernel_size,
            layer.output_padding,
            after[-2:],
            strict=True,
        )
    ]
    return f"{_both_axes(parts)}; C = {layer.out_channels} filters"


def _same(text: str) -> "Rule":
    return lambda layer, before, after: text


def _flatten(layer: Flatten, before: Shape, after: Shape) -> str:
    return f"{'·'.join(str(s) for s in before)} = {after[-1] if len(after) == 1 else _shape(after)}"


# summary's one table of layer types: the formula that explains each layer's output shape (the shape itself is
# the layer's own output_shape). A layer type missing here is refused by name, never written with another's rule.
SHAPE_RULES: dict[type, Rule] = {
    Linear: lambda layer, before, after: f"{layer.in_features} → {layer.out_features} features",
    Conv2d: _conv,
    ConvTranspose2d: _conv_transpose,
    MaxPool2d: _windows,
    AvgPool2d: _windows,
    AdaptiveAvgPool2d: lambda layer, before, after: f"output size given: {_shape(before[-2:])} → {_shape(after[-2:])}",
    Flatten: _flatten,
    **{cls: _same("elementwise, same shape") for cls in (Tanh, Sigmoid, ReLU, Identity, LeakyReLU, ELU, GELU, SiLU)},
    Softmax: _same("softmax, same shape"),
    LogSoftmax: _same("log-softmax, same shape"),
    BatchNorm1d: _same("normalised per feature, same shape"),
    BatchNorm2d: _same("normalised per channel, same shape"),
    Dropout: _same("same shape (the identity when predicting)"),
    Sequential: lambda layer, before, after: f"its {len(layer)} layers in turn",
}
REFUSED = {Activation: "Activation is an abstract base class"}

# the layers that fix a network's input shape: the shape, or None for "an image of any size"
INPUT_SHAPE: dict[type, Callable[[Any], "Shape | None"]] = {
    Linear: lambda layer: (layer.in_features,),
    BatchNorm1d: lambda layer: (layer.num_features,),
    **{cls: lambda layer: None for cls in (Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d)},
    **{cls: lambda layer: None for cls in (Flatten, BatchNorm2d)},
}


def _ceil_axis(a: win.AxisSteps, out: int) -> str:
    """⌈(H + 2P − K)/S⌉ + 1 = O (ceil_mode), less one when that last window would start in the padding."""
    s = f"⌈({a.size} + {a.pad_before + a.pad_after} − {a.extent})/{a.stride}⌉ + 1"
    if -(-a.minus_kernel // a.stride) + 1 != out:
        return f"{s} − 1 = {out} (ceil_mode; the last window would start in the padding)"
    return f"{s} = {out} (ceil_mode)"


def _axis(a: win.AxisSteps) -> str:
    """⌊(H + 2P − K)/S⌋ + 1 = O with the numbers filled in."""
    pad = a.pad_before + a.pad_after
    s = f"⌊({a.size} + {pad} − {a.extent})/{a.stride}⌋ + 1 = {a.output}"
    if a.uncovered_real:
        s += f" (the floor drops the last {a.uncovered_real} input row(s)/column(s))"
    return s
