"""Symbols for the image part of a network, in the recitation's letters (section 4: X, F, Y).

X the network's input; Y a convolution's output, F its kernel (PyTorch's weight layout), B its bias;
Z an activation of a map; P a pooled map; x the flattened vector (the dense part's input, so the dense
layers keep the recitation's x, α, a, z, β, ŷ). Indices are printed from 1: (i, j) for one channel,
(c, i, j) for several; F[u, v] for one kernel, else F[o, c, u, v]. With several layers of one letter
the layer's number is a superscript (Y⁽²⁾₁,₁,₂, qid ``Y2[1,1,2]``).
"""

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from chainrule.explain.doc import Equations, Prose, Sym, sym
from chainrule.explain.record import LayerRecord
from chainrule.nn.activations import Activation
from chainrule.nn.batchnorm import BatchNorm2d
from chainrule.nn.conv import Conv2d
from chainrule.nn.flatten import Flatten


@dataclass(frozen=True)
class MapVar:
    """One map-valued quantity: ``el(*index)`` takes 0-based indices of the full array."""

    letter: str
    layer: int | None  # the superscript, when several layers share the letter
    shape: tuple[int, ...]  # the array's shape: (C, H, W), (O, C, KH, KW), (O,) or (K,)
    full: bool = False  # always write every index (a kernel when there are several)
    latex: str = ""  # when not the letter itself (BatchNorm's Ỹ: \tilde{Y})

    def el(self, *index: Any) -> Sym:
        idx = tuple(int(i) + 1 for i in index)
        if len(self.shape) == 3 and self.shape[0] == 1 and not self.full:
            idx = idx[1:]  # one channel: Y[i, j]
        if len(self.shape) == 4 and not self.full:
            idx = idx[2:]  # one kernel: F[u, v]
        return sym(self.letter, self.latex or self.letter, *idx, layer=self.layer)

    def mark(self, mark: str, latex: str) -> "MapVar":
        """The same map with a mark over its letter: Y -> Ỹ (BatchNorm's output), Ȳ (its normalised value)."""
        return MapVar(self.letter + mark, self.layer, self.shape, self.full, rf"{latex}{{{self.latex or self.letter}}}")

    def map(self, *lead: Any) -> Sym:
        """The whole map of channel ``lead`` (or kernel (o, c)); the whole array when it has one."""
        one = len(self.shape) == 1 or (len(self.shape) == 3 and self.shape[0] == 1)
        one = one or (len(self.shape) == 4 and not self.full)
        idx = () if one else tuple(int(i) + 1 for i in lead)
        return sym(self.letter, self.latex or self.letter, *idx, layer=self.layer)


def letter_of(layer: Any) -> str:
    if isinstance(layer, Conv2d):
        return "Y"
    if isinstance(layer, Flatten):
        return "x"
    if isinstance(layer, Activation):
        return "Z"
    return "P"  # pooling


class MapNames:
    """The symbols of layers ``0 … len(shapes) − 1`` of the image part, from their output shapes."""

    def __init__(self, layers: list, in_shape: tuple[int, ...], out_shapes: list[tuple[int, ...]]):
        self.layers = layers
        self.norm_total = 0  # BatchNorm layers in the whole network (set by explain/cnn.py), for their numbers
        letters = ["" if isinstance(m, BatchNorm2d) else letter_of(m) for m in layers]
        count = {c: letters.count(c) for c in set(letters)}
        seen: dict[str, int] = {}
        self.outs, self.kernels, self.biases = [], {}, {}
        convs = count.get("Y", 0)
        kseen = 0
        self.input = MapVar("X", None, tuple(in_shape))
        for i, (m, c, shape) in enumerate(zip(layers, letters, out_shapes, strict=True)):
            if not c:  # BatchNorm2d: its input's letter with a tilde (Y -> Ỹ)
                self.outs.append(self.inp(i).mark("\u0303", r"\tilde"))
                continue
            seen[c] = seen.get(c, 0) + 1
            number = seen[c] if count[c] > 1 and c != "x" else None
            self.outs.append(MapVar(c, number, tuple(shape)))
            if isinstance(m, Conv2d):
                kseen += 1
                kn = kseen if convs > 1 else None
                w = m.weight.data.shape
                self.kernels[i] = MapVar("F", kn, w, full=w[0] > 1 or w[1] > 1)
                self.biases[i] = MapVar("B", kn, (w[0],))

    def inp(self, i: int) -> MapVar:
        return self.input if i == 0 else self.outs[i - 1]

    def out(self, i: int) -> MapVar:
        return self.outs[i]

    def bar(self, i: int) -> MapVar:
        """BatchNorm layer i's normalised map: its input's letter with a bar (Ȳ)."""
        return self.inp(i).mark("\u0304", r"\bar")


def first_cells(shape: tuple[int, ...], n: int) -> list[tuple[int, ...]]:
    """The first ``n`` cells of each map (row-major within a map) of an array (C, H, W) or (K,)."""
    if len(shape) == 1:
        return [(k,) for k in range(min(n, shape[0]))]
    lead, (h, w) = shape[:-2], shape[-2:]
    cells = [divmod(k, w) for k in range(min(n, h * w))]
    return [(*c, i, j) for c in np.ndindex(*lead) for i, j in cells]


def more_note(shape: tuple[int, ...], n: int, what: str) -> Prose | None:
    """'… and M more cells of each map follow the same rule' (None when every cell was written)."""
    per_map = shape[0] if len(shape) == 1 else shape[-2] * shape[-1]
    left = per_map - min(n, per_map)
    if left <= 0:
        return None
    maps = 1 if len(shape) == 1 else int(np.prod(shape[:-2]))
    each = " of each map" if maps > 1 else ""
    return Prose(f"... and {left} more {what}{each} by the same rule (--cells {per_map} writes them all).")


@dataclass
class MapContext:
    """What a map layer's rule needs besides its record: the symbols and how many cells to work."""

    names: MapNames
    cells: int = 9


class MapRule(Protocol):
    """An image layer's rule: a module (``rules/conv.py``, ``pool.py``, ``flatten.py``, ``map_activations.py``)
    whose ``forward`` and ``backward`` write that layer's cells from its record."""

    def forward(self, ctx: MapContext, r: LayerRecord) -> list: ...

    def backward(self, ctx: MapContext, r: LayerRecord) -> list: ...


def worked(intro: Prose, rows: list, shape: tuple[int, ...], n: int, what: str, full: list) -> list:
    """A rule's blocks: the intro, the first ``n`` cells of each map worked, how many more, the full maps."""
    note = more_note(shape, n, what)
    return [intro, Equations(rows), *([note] if note else []), Equations(full)]
