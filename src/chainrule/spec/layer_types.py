"""The layer types a spec's [[layers]] table may name (``type = "conv2d"`` …), in one table."""

from chainrule.nn import activations as act
from chainrule.nn.adaptive_pool import AdaptiveAvgPool2d
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.conv import Conv2d
from chainrule.nn.conv_transpose import ConvTranspose2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d
from chainrule.nn.rectifiers import ELU, GELU, LeakyReLU, SiLU

TYPE_ALIASES = {"dense": "linear", "fc": "linear"}
# the layers whose parameters a table may give in PyTorch's layout (weight = [...], bias = [...]): their rank
PARAM_RANKS = {"linear": 2, "conv2d": 4, "batchnorm1d": 1, "batchnorm2d": 1}
BUFFERS = ("running_mean", "running_var")  # a batchnorm's running statistics, as its state_dict names them

# spec building's one table of layer types (``type = "conv2d"`` …, the class name in lower case): for each, the
# constructor arguments a [[layers]] table may leave out, read off the shape of one example before the layer
# ("channels": its first axis, which must be an image's for in_channels). Linear has its own path (folded
# weights or units). A registered type missing here is refused by name (REFUSED, or "unknown layer type").
INFERRED: dict[type[Module], dict[str, str]] = {
    Linear: {},
    Conv2d: {"in_channels": "image channels"},
    ConvTranspose2d: {"in_channels": "image channels"},
    BatchNorm1d: {"num_features": "features"},
    BatchNorm2d: {"num_features": "image channels"},
    **{cls: {} for cls in (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout)},
    **{cls: {} for cls in (act.Tanh, act.Sigmoid, act.ReLU, act.Identity, act.Softmax, LogSoftmax)},
    **{cls: {} for cls in (LeakyReLU, ELU, GELU, SiLU)},
}
REFUSED = {
    "Sequential": "layers are listed as [[layers]] tables in order; a Sequential is not one of them",
    "Activation": "it is an abstract base class; name the activation (relu, tanh, leakyrelu, …)",
}
NOT_LAYERS = set(REFUSED)  # registered Module classes that are not a spec's layer types


def layer_class(name: str) -> type[Module] | None:
    """The layer class a spec's ``type`` names (INFERRED's keys), or None."""
    table = {c.__name__.lower(): c for c in INFERRED}
    return table.get(TYPE_ALIASES.get(name, name))
