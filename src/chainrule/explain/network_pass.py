"""The explainer's one pass of the engine over every layer: forward, loss, backward on one example,
then, with a learning rate, the optimizer's SGD step(s) on the same example.

The result is a ``Pass``: one ``LayerRecord`` per layer (``record.py``) with each parameter's value,
gradient and updated value, and the loss after each step. The network is the explainer's own copy.
An image network runs on a batch of one (Flatten and the losses count the batch axis); a dense one on
the bare vector, exactly as ``trace.run`` does, so both read the same numbers.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.explain.passes import batch_of_one
from chainrule.explain.record import LayerRecord, records
from chainrule.nn import rounding
from chainrule.nn.activations import Softmax
from chainrule.nn.containers import Sequential
from chainrule.nn.losses import CrossEntropyLoss, Loss
from chainrule.optim import SGD


@dataclass
class Pass:
    net: Sequential  # the layers that ran (a final Softmax is left to a cross-entropy loss, fused)
    loss: Loss
    records: list[LayerRecord]
    value: float  # the loss
    inputs: tuple  # (x, y) as the pass gave them to the network and the loss
    round_fn: Callable[[np.ndarray], np.ndarray] | None = None
    lr: float | None = None
    step_losses: list[float] = field(default_factory=list)  # ℓ after each SGD step (--steps)

    def _mode(self) -> AbstractContextManager[Any]:
        return rounding.round_each_step(self.round_fn) if self.round_fn else nullcontext()

    def forward(self) -> float:
        with self.net.mode(training=False):  # the explainer shows the network as it predicts
            return self.loss.forward(self.net.forward(self.inputs[0]), self.inputs[1])

    def one_pass(self) -> float:
        self.net.zero_grad()
        value = self.forward()
        with self.net.mode(training=False):
            self.net.backward(self.loss.backward())
        if self.round_fn is not None:  # by hand, a step uses the gradients as printed (Conv2d keeps them exact)
            for p in self.net.parameters():
                p.grad[...] = self.round_fn(p.grad)
        return value

    def update(self, lr: float | None, steps: int = 0) -> None:
        """With ``lr``: the engine's SGD step from this pass's gradients (each record's ``updated``),
        then ``steps − 1`` more on the same example, with the loss after each step."""
        check_lr(lr, steps)
        if lr is None:
            return
        self.lr = lr
        opt = SGD(self.net.parameters(), lr=lr)
        with np.errstate(all="ignore"), self._mode():
            for k in range(max(steps, 1)):
                if k:
                    self.one_pass()
                opt.step()
                if k == 0:
                    for r in self.records:
                        for name, p in r.layer.named_parameters():
                            r.params[name].updated = np.array(p.data, copy=True)
                if steps:
                    self.step_losses.append(self.forward())


def flat_layers(net: Sequential) -> list:
    """The layers of ``net`` with nested Sequentials opened (as PyTorch code often nests them)."""
    return [m for layer in net.layers for m in (flat_layers(layer) if isinstance(layer, Sequential) else [layer])]


def prepared(net: Sequential, loss: Loss) -> Sequential:
    """``net`` as the pass runs it: one flat list; a final Softmax fused into a cross-entropy loss."""
    layers = flat_layers(net)
    if isinstance(loss, CrossEntropyLoss) and layers and isinstance(layers[-1], Softmax):
        layers = layers[:-1]  # PyTorch's fused form: the loss takes the logits
    return Sequential(*layers)


def check_lr(lr: float | None, steps: int) -> None:
    if lr is not None and not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
        raise ChainruleError(f"--lr {lr}: the learning rate must be a number > 0")
    if steps and lr is None:
        raise ChainruleError(f"--steps {steps}: give the learning rate with --lr")
    if steps < 0 or steps > 10_000:
        raise ChainruleError(f"--steps {steps}: must be between 1 and 10000")


def run_pass(
    net: Sequential,
    x: np.ndarray,
    y: Any,
    loss: Loss,
    round_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    batched: bool = False,
) -> Pass:
    """One forward/backward pass of ``net`` (changed: the caller gives its copy) on ``x`` with target ``y``."""
    net = prepared(net, loss)
    xb = x[None] if batched else x
    yb = batch_of_one(y) if batched else y
    if round_fn is not None:  # by hand, the weights are used (and updated) as printed
        for p in net.parameters():
            p.data[...] = round_fn(p.data)
    ps = Pass(net=net, loss=loss, records=[], value=0.0, inputs=(xb, yb), round_fn=round_fn)
    with np.errstate(all="ignore"), ps._mode():
        ps.value = ps.one_pass()
    ps.records = records(net, batched=batched)
    return ps
