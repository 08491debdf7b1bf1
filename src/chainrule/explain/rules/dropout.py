"""Dropout's rule, in a dense network: the identity in evaluation mode, where the explainer runs the network.

    eval:  output = input;   ∂ℓ/∂(input) = ∂ℓ/∂(output)           (one line saying so)
    train: output = input ⊙ m,  m the engine's cached mask (Bernoulli(1 − p) / (1 − p));
           ∂ℓ/∂(input) = ∂ℓ/∂(output) ⊙ m

The output keeps the input's symbol (z stays z), so the layer above reads the same quantities and the
``--wrt`` chain is unchanged. The mask, when there is one, is the engine's ``noise`` cache, copied by
``capture`` right after the pass; nothing is drawn or recomputed here.
"""

import numpy as np

from chainrule.explain.doc import ELL, Equations, Mat, Op, Prose, Row, Sym, d
from chainrule.explain.notation import Var
from chainrule.explain.rules.base import Block, LayerContext, Rule
from chainrule.nn.dropout import Dropout
from chainrule.nn.module import Module

MASK = Sym("m", "m")


class DropoutRule(Rule):
    kind = "dropout"

    def capture(self, layer: Module) -> dict[str, np.ndarray]:
        noise = getattr(layer, "noise", None)
        return {} if noise is None else {"mask": noise}

    def output_var(self, ctx: LayerContext) -> Var | None:
        return ctx.in_var  # the identity: the layer above reads the same quantities

    def title(self, ctx: LayerContext, members: list[LayerContext]) -> str:
        layer = ctx.step.layer
        assert isinstance(layer, Dropout)
        return f"Dropout(p={layer.p:g})"

    @staticmethod
    def _mask(ctx: LayerContext) -> np.ndarray | None:
        mask = ctx.step.extras.get("mask")
        return None if mask is None else (mask[0] if mask.ndim > ctx.step.input.ndim else mask)

    @classmethod
    def identity(cls, ctx: LayerContext) -> bool:
        """No mask (evaluation mode): the layer above's ∂ℓ/∂(output) is the layer below's, written there."""
        return cls._mask(ctx) is None

    def forward(self, ctx: LayerContext) -> list[Block]:
        layer = ctx.step.layer
        assert isinstance(layer, Dropout)
        mask, v = self._mask(ctx), ctx.in_var.vec()
        if mask is None:
            return [Prose(f"Dropout(p={layer.p:g}) is the identity in evaluation mode: ", v, " passes unchanged.")]
        return [
            Prose(f"Dropout(p={layer.p:g}) in training mode multiplies by the engine's mask m (kept / (1 − p)):"),
            Equations([(MASK, Mat(mask)), (v, Row(v, Op.HADAMARD, MASK), Mat(ctx.step.output))]),
        ]

    def backward(self, ctx: LayerContext) -> list[Block]:
        mask, v = self._mask(ctx), ctx.in_var.vec()
        if mask is None:
            return [Prose("Dropout is the identity in evaluation mode: ", d(ELL, v), " passes back unchanged.")]
        return [Equations([(d(ELL, v), Row(d(ELL, v), Op.HADAMARD, MASK), Mat(ctx.step.grad_input))])]
