"""A network's layers with each output shape, parameter count, and the formula that produced the shape.

    summary(net, (1, 8, 8))  ->  Conv2d(1, 4, 3, padding=1)   4×8×8   40   H, W: ⌊(8 + 2 − 3)/1⌋ + 1 = 8 …

Shapes are per example (no batch axis). They come from running one zero example through the layers,
so the table shows what the engine computes; the formulas are written from the layers' arguments.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.activations import Activation
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.pool import _Pool2d


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
    """A dense network's input width; None when the first layer needs an image size."""
    for layer in _layers(model):
        if isinstance(layer, Linear):
            return (layer.in_features,)
        if isinstance(layer, BatchNorm1d):
            return (layer.num_features,)
        if isinstance(layer, (Conv2d, _Pool2d, Flatten, BatchNorm2d)):
            return None
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
    if isinstance(layer, Conv2d):
        w = "·".join(str(s) for s in layer.weight.shape)
        return (
            f"params {w}"
            + (f" + {layer.out_channels}" if layer.bias is not None else "")
            + f" = {layer.num_parameters():,}"
        )
    if isinstance(layer, Linear):
        return (
            f"params {layer.out_features}·{layer.in_features}"
            + (f" + {layer.out_features}" if layer.bias is not None else "")
            + f" = {layer.num_parameters():,}"
        )
    return ""


def _shape_formula(layer: Module, before: tuple[int, ...], after: tuple[int, ...]) -> str:
    if isinstance(layer, (Conv2d, _Pool2d)):
        padding = layer.padding
        h, w = before[-2:]
        steps = win.size_steps((h, w), layer.kernel_size, layer.stride, padding, getattr(layer, "dilation", (1, 1)))
        parts = [_axis(a) for a in steps]
        if getattr(layer, "ceil_mode", False):  # PyTorch's rounding up, not the floor
            parts = [_ceil_axis(a, o) for a, o in zip(steps, after[-2:], strict=True)]
        axes = f"H, W: {parts[0]}" if parts[0] == parts[1] else f"H: {parts[0]}; W: {parts[1]}"
        if isinstance(layer, Conv2d):
            return f"{axes}; C = {layer.out_channels} filters"
        return axes
    if isinstance(layer, Flatten):
        return f"{'·'.join(str(s) for s in before)} = {after[-1] if len(after) == 1 else _shape(after)}"
    if isinstance(layer, Linear):
        return f"{layer.in_features} → {layer.out_features} features"
    if isinstance(layer, Activation):
        return "elementwise, same shape" if type(layer).__name__ != "Softmax" else "softmax, same shape"
    return ""


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
