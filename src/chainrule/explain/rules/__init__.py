"""The explain concern's one table of layer types: each public layer class has its rule here, or is
refused here by name with a one-line reason. Nothing falls through to another layer's rule.

``RULES[cls]`` is the rule's kind: "linear" (a folded-weight stage) or an activation's name (the key
the derivation writes it with). ``REFUSED[cls]`` says why ``explain`` cannot write the layer out yet.
Adding an activation's explanation: one entry in ``RULES`` (and its forms in ``derive.py`` until the
per-rule modules land); a layer the explainer cannot write: one entry in ``REFUSED``.
"""

from chainrule.errors import ChainruleError
from chainrule.nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d

RULES: dict[type[Module], str] = {
    Linear: "linear",
    Tanh: "tanh",
    Sigmoid: "sigmoid",
    ReLU: "relu",
    Identity: "identity",
    Softmax: "softmax",
    # the image part of a network (explain/cnn.py; rules/conv.py, pool.py, flatten.py)
    Conv2d: "conv2d",
    MaxPool2d: "maxpool2d",
    AvgPool2d: "avgpool2d",
    Flatten: "flatten",
}
IMAGE_KINDS = {"conv2d", "maxpool2d", "avgpool2d", "flatten"}  # never a dense stage's activation

# Layers explain knows and refuses, by class name (so a layer added on another branch is refused by the
# default reason below until its rule exists, never printed with someone else's rule).
REFUSED_BY_NAME: dict[str, str] = {}
NOT_LAYERS = {Sequential}  # a container is walked, not explained
ABSTRACT = {"Activation"}  # the registered base class of activations


def rule_for(layer: Module, index: int) -> str:
    """The rule kind of ``layer`` (position ``index`` in the network), or one clear error naming it."""
    cls = type(layer)
    if cls in RULES:
        return RULES[cls]
    reason = REFUSED_BY_NAME.get(cls.__name__, "explain has no rule for this layer type")
    supported = ", ".join(c.__name__ for c in RULES)
    raise ChainruleError(f"layer {index} is {cls.__name__}: {reason} (explain handles {supported})")
