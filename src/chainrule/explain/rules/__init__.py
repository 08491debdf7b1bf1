"""The explain concern's one table of layer types: each public layer class has its rule here, or is
refused here by name with a one-line reason. Nothing falls through to another layer's rule.

``RULES[cls]`` is the rule (a ``base.Rule``) that writes layers of exactly that class; ``LOSS_RULES`` the
same for losses. ``REFUSED_BY_NAME`` says why ``explain`` cannot write a layer out (yet). Adding a layer:
one rule class in ``rules/<concept>.py`` and one entry here (see ``rules/base.py`` for the interface).
"""

from chainrule.errors import ChainruleError
from chainrule.explain.rules.activations import IdentityRule, ReLURule, SigmoidRule, SoftmaxRule, TanhRule
from chainrule.explain.rules.base import LossRule, Rule
from chainrule.explain.rules.batchnorm import BatchNorm2dRule, BatchNormRule
from chainrule.explain.rules.conv import Conv2dRule
from chainrule.explain.rules.dropout import DropoutRule
from chainrule.explain.rules.flatten import FlattenRule
from chainrule.explain.rules.linear import LinearRule
from chainrule.explain.rules.losses import CrossEntropyRule, MSERule, SquaredErrorRule
from chainrule.explain.rules.pool import PoolRule
from chainrule.explain.rules.rectifiers import ELURule, GELURule, LeakyReLURule, SiLURule
from chainrule.nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss, MSELoss, SquaredError
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d
from chainrule.nn.rectifiers import ELU, GELU, LeakyReLU, SiLU

RULES: dict[type[Module], Rule] = {
    Linear: LinearRule(),
    Tanh: TanhRule(),
    Sigmoid: SigmoidRule(),
    ReLU: ReLURule(),
    Identity: IdentityRule(),
    Softmax: SoftmaxRule(),
    LeakyReLU: LeakyReLURule(),
    ELU: ELURule(),
    GELU: GELURule(),
    SiLU: SiLURule(),
    Dropout: DropoutRule(),  # the identity in evaluation mode
    BatchNorm1d: BatchNormRule(),  # evaluation mode: the running statistics
    # the image part of a network, written by explain/cnn.py (rules/conv.py, pool.py, flatten.py)
    Conv2d: Conv2dRule(),
    MaxPool2d: PoolRule(),
    AvgPool2d: PoolRule(),
    Flatten: FlattenRule(),
    BatchNorm2d: BatchNorm2dRule(),
}

LOSS_RULES: dict[type[Loss], LossRule] = {
    SquaredError: SquaredErrorRule(),
    MSELoss: MSERule(),
    CrossEntropyLoss: CrossEntropyRule(),
}

# Layers explain knows and refuses, by class name (so a layer added on another branch is refused by the
# default reason below until its rule exists, never printed with someone else's rule).
REFUSED_BY_NAME: dict[str, str] = {
    "LogSoftmax": "explain writes softmax with its loss (CrossEntropyLoss on logits); use that instead",
}
NOT_LAYERS = {Sequential}  # a container is walked, not explained
ABSTRACT = {"Activation"}  # the registered base class of activations


def rule_for(layer: Module, index: int) -> Rule:
    """The rule of ``layer`` (position ``index`` in the network), or one clear error naming it."""
    cls = type(layer)
    if cls in RULES:
        return RULES[cls]
    reason = REFUSED_BY_NAME.get(cls.__name__, "explain has no rule for this layer type")
    supported = ", ".join(c.__name__ for c in RULES)
    raise ChainruleError(f"layer {index} is {cls.__name__}: {reason} (explain handles {supported})")


def loss_rule_for(loss: Loss) -> LossRule:
    """The rule of ``loss``, or one clear error naming it (a loss with options explain cannot write too)."""
    rule = LOSS_RULES.get(type(loss))
    if rule is None:
        names = ", ".join(c.__name__ for c in LOSS_RULES)
        raise ChainruleError(f"explain knows the losses {names}; got {loss!r}")
    rule.check(loss)
    return rule
