"""The interface of an explanation rule: how one layer type's forward and backward steps are written out.

The orchestration (``explain/derive.py``) walks the network's ``Step`` records in order, looks each
layer's rule up in ``rules.RULES`` (one table keyed by the exact layer class) and asks it for document
blocks. A rule never computes a value: every number it places (``Num``/``Mat``) is an array element of
its ``Step`` (a copy of what the engine cached) or of the ``Trace``.

What a rule receives, ``ctx`` (a ``LayerContext``):
    ctx.step        the layer's record (``trace.Step``): ``layer`` (the engine's module, after the pass),
                    ``input``/``output``/``grad_input``/``grad_output`` (one example, batch axis dropped),
                    ``params`` (PyTorch names "weight"/"bias" -> ``Param(value, grad, numeric)``),
                    ``extras`` (what ``rule.capture(layer)`` copied right after the pass), ``fused``
    ctx.trace       the whole pass (every step, the loss, ŷ, the target)
    ctx.notation    the symbols (``notation.Notation``); ``ctx.in_var`` / ``ctx.out_var`` are the symbol
                    families of this layer's input and output (x, z, a, f, Y …)
    ctx.form        "scalar" (every sum written out) or "vector"; ``ctx.layout`` "row" (section 3.2,
                    a = x̂ αᵀ) or "column" (section 3.3, a = α x̂)
    ctx.ordinal     1-based position of this layer among the layers of its rule's kind (conv 1, conv 2 …);
                    ``ctx.count`` how many there are
    ctx.check       finite differences were asked for (``Param.numeric`` is set)
    ctx.units       None (every unit), or the output units (1-based) a ``--wrt`` chain goes through

What it returns: lists of blocks from ``explain/doc.py`` (``Heading``, ``Prose``, ``Equations``). Each
equation row's left-hand side is a symbol from the notation, so its qid (docs/explain.md, "Quantity
names") follows from it. Consecutive ``Equations`` blocks of one section's chain are merged by the
orchestration into one aligned block, so a rule returns its rows as one ``Equations`` per step.

A rule that cannot write a form (say the vector form of a layer) raises ``ChainruleError`` with one line
naming the layer; it never falls back to another layer's rule.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from chainrule.explain.doc import Equations, Heading, Node, Prose
from chainrule.explain.notation import Notation, Var
from chainrule.nn.losses import Loss
from chainrule.nn.module import Module

if TYPE_CHECKING:
    from chainrule.explain.trace import Step, Trace

Block = Heading | Prose | Equations


@dataclass
class LayerContext:
    """Everything a rule may read about its layer (see the module docstring)."""

    step: "Step"
    trace: "Trace"
    notation: Notation
    in_var: Var
    out_var: Var
    form: str = "scalar"
    layout: str = "row"
    ordinal: int = 1
    count: int = 1
    check: bool = False
    units: tuple[int, ...] | None = None
    stage: int | None = None  # the dense stage (1-based Linear + its activation) this layer belongs to

    @property
    def last(self) -> bool:
        """True for the network's last step (its output is ŷ)."""
        return self.step.index == len(self.trace.steps) - 1


class Rule:
    """Base of the explanation rules: one subclass per layer type (``rules/linear.py``, ``rules/conv.py`` …)."""

    kind: ClassVar[str] = ""  # the name it is written with in titles: "linear", "tanh", "conv2d" …
    opens_section: ClassVar[bool] = True  # False: joins the section of the layer before (activations)
    normalises: ClassVar[bool] = False  # True: BatchNorm, which joins a Linear's section but is not its activation

    def capture(self, layer: Module) -> dict[str, np.ndarray]:
        """Extra engine caches this rule prints, copied right after the pass (e.g. an activation's ∂z/∂a)."""
        return {}

    def output_var(self, ctx: LayerContext) -> Var | None:
        """The symbol family of this layer's output; None: the notation's default for a dense stage."""
        return None

    def title(self, ctx: LayerContext, members: list[LayerContext]) -> str:
        """The section title ("Hidden layer (tanh)", "Convolution 1 …"); ``members``: the layers that
        joined this section (activations after a Linear)."""
        return type(ctx.step.layer).__name__

    def forward(self, ctx: LayerContext) -> list[Block]:
        """The forward step's lines (scalar or vector form, ``ctx.form``)."""
        raise NotImplementedError

    def backward(self, ctx: LayerContext) -> list[Block]:
        """This layer's own backward lines: from ∂ℓ/∂(output) to what it owns (∂ℓ/∂a of an activation;
        the parameter gradients of a Linear or a convolution)."""
        raise NotImplementedError

    def grad_input(self, ctx: LayerContext) -> list[Block]:
        """∂ℓ/∂(input) of this layer, asked only when a layer below needs it; the orchestration prints it
        at the start of the section below (the recitation's ∂ℓ/∂zⱼ = Σₖ ∂ℓ/∂bₖ βₖ,ⱼ)."""
        return []

    def factor(self, ctx: LayerContext, j: int, i: int) -> tuple[Node, Node] | None:
        """The closed form of ∂(output unit j)/∂(input unit i) on a ``--wrt`` chain, as (symbols, numbers):
        a Linear's (βⱼ, 1), tanh's (1 − tanh²(a₁), 1 − tanh²(5)); None where it is not one factor."""
        return None


@dataclass
class LossContext:
    """What a loss rule may read: the pass, the symbols, the form and the ``--wrt`` units."""

    trace: "Trace"
    notation: Notation
    form: str = "scalar"
    layout: str = "row"
    units: tuple[int, ...] | None = None
    fused: bool = False  # softmax fused into cross-entropy: ∂ℓ/∂b = ŷ − y is the softmax rule's line


class LossRule:
    """Base of the loss rules (``rules/losses.py``): the loss line and ∂ℓ/∂ŷ."""

    key: ClassVar[str] = ""  # JSON ``loss_name``: "squared", "mse", "cross-entropy"
    text: ClassVar[str] = ""  # as the summary names it: "squared error"

    def check(self, loss: Loss) -> None:
        """Raise a one-line ``ChainruleError`` when this loss has options the rule cannot write out."""

    def forward(self, ctx: LossContext) -> list[Block]:
        raise NotImplementedError

    def backward(self, ctx: LossContext) -> list[Block]:
        """∂ℓ/∂ŷₖ for the units asked (all by default); nothing when fused into the softmax."""
        raise NotImplementedError

    def factor(self, ctx: LossContext, k: int) -> tuple[Node, Node] | None:
        """The closed form of ∂ℓ/∂ŷₖ, as (symbols, numbers): (ŷ − y, 4.91807 − 3)."""
        return None
