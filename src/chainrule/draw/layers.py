"""The draw concern's one table of layer types: how each public layer is written over its arrow in the
block picture (``blocks.py``), or refused by name. A layer that changes the shape starts a new block;
one that keeps it (an activation, batch norm, dropout) is added to the previous layer's label.

    blocks, ops = network_blocks(net, (1, 8, 8))
"""

from collections.abc import Callable

from chainrule.draw.blocks import Block
from chainrule.errors import ChainruleError
from chainrule.nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh
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


def _hw(p) -> str:
    return p if isinstance(p, str) else (str(p[0]) if p[0] == p[1] else f"{p[0]}×{p[1]}")


def _conv(m: Conv2d) -> str:
    kh, kw = m.kernel_size
    dil = f", dil {_hw(m.dilation)}" if tuple(m.dilation) != (1, 1) else ""
    return f"conv {kh}×{kw}\nstride {_hw(m.stride)}, pad {_hw(m.padding)}{dil}"


def _conv_transpose(m: ConvTranspose2d) -> str:
    kh, kw = m.kernel_size
    out = f", out pad {_hw(m.output_padding)}" if tuple(m.output_padding) != (0, 0) else ""
    return f"transposed conv {kh}×{kw}\nstride {_hw(m.stride)}, pad {_hw(m.padding)}{out}"


def _pool(kind: str) -> Callable:
    def label(m) -> str:
        kh, kw = m.kernel_size
        pad = f", pad {_hw(m.padding)}" if tuple(m.padding) != (0, 0) else ""
        return f"{kind} pool {kh}×{kw}\nstride {_hw(m.stride)}{pad}"

    return label


def _named(text: str) -> Callable:
    return lambda m: text


# layer class -> its label; a class in KEEPS_SHAPE is written "+ label" on the arrow before it
LABELS: dict[type[Module], Callable] = {
    Conv2d: _conv,
    ConvTranspose2d: _conv_transpose,
    AdaptiveAvgPool2d: lambda m: "global avg pool" if tuple(m.output_size) == (1, 1) else "adaptive avg pool",
    MaxPool2d: _pool("max"),
    AvgPool2d: _pool("avg"),
    Flatten: _named("flatten"),
    Linear: lambda m: f"linear {m.in_features}→{m.out_features}",
    BatchNorm1d: _named("batch norm"),
    BatchNorm2d: _named("batch norm"),
    Dropout: lambda m: f"dropout {m.p:g}",
    Tanh: _named("tanh"),
    Sigmoid: _named("sigmoid"),
    ReLU: _named("relu"),
    LeakyReLU: _named("leaky relu"),
    ELU: _named("elu"),
    GELU: _named("gelu"),
    SiLU: _named("silu"),
    Identity: _named("identity"),
    Softmax: _named("softmax"),
    LogSoftmax: _named("log-softmax"),
}
KEEPS_SHAPE = {BatchNorm1d, BatchNorm2d, Dropout, Tanh, Sigmoid, ReLU, LeakyReLU, ELU, GELU, SiLU, Identity}
KEEPS_SHAPE |= {Softmax, LogSoftmax}
NOT_LAYERS = {Sequential}  # walked, not drawn


def _flat(net: Module) -> list[Module]:
    if isinstance(net, Sequential):
        return [m for layer in net.layers for m in _flat(layer)]
    return [net]


def network_blocks(net: Module, input_shape: tuple[int, ...]) -> tuple[list[Block], list[str]]:
    """The blocks (the input, then each shape-changing layer's output) and the label of each arrow."""
    shape = tuple(input_shape)
    blocks, ops = [Block(shape, "input", "x")], list[str]()
    counts: dict[str, int] = {}
    for k, layer in enumerate(_flat(net)):
        cls = type(layer)
        if cls not in LABELS:
            raise ChainruleError(f"layer {k} is {cls.__name__}: draw has no picture for this layer type")
        label = LABELS[cls](layer)
        try:
            shape = tuple(layer.output_shape(shape))
        except ChainruleError as e:
            raise ChainruleError(f"layer {k} ({cls.__name__}): {e}") from None
        if cls in KEEPS_SHAPE and ops:
            ops[-1] += f"\n+ {label}"
            continue
        base = {"max": "pool", "avg": "pool", "linear": "fc"}.get(label.split()[0], label.split()[0])
        counts[base] = counts.get(base, 0) + 1
        blocks.append(Block(shape, base if cls is Flatten else f"{base}{counts[base]}", f"layer{k}"))
        ops.append(label)
    return blocks, ops
