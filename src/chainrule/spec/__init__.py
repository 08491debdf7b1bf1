"""Network spec files (TOML): a network, and optionally an input, a target and a loss.

    x = [1, 2]                  # optional: one input (or a list of inputs)
    y = 3                       # optional: its target (number, list, or class label)
    loss = "squared"            # squared | cross-entropy | mse (default with y: cross-entropy after a
                                #   final softmax, else squared)
    input = 2                   # optional: input width, or [C, H, W] for images
    [[layers]]
    weights = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]   # folded: column 0 is the bias (the recitation's α)
    activation = "tanh"
    [[layers]]                  # or PyTorch's layout, for linear and conv2d layers alike:
    type = "conv2d"             #   weight (out, in, KH, KW) for conv2d, (out, in) for linear
    weight = [[[[1, 0], [0, 1]]]]
    bias = [0]                  #   a list: the bias values; true / false: with or without a bias
    [[layers]]
    units = 1                   # or no weights: a fresh layer of this width
    activation = "identity"

A layer table may name a ``type`` (default "linear"; any layer class, case-insensitive: "conv2d",
"maxpool2d", "flatten", "relu" …) and that layer's constructor keywords; ``in_features`` and
``in_channels`` are inferred from the layer before. Errors name the file, the key and the problem.

The package: ``layer_types`` (the one table of layer types a spec may name), ``model`` (``Spec`` /
``LayerSpec``: a parsed spec, built into a network and a loss), ``parse`` (reading and checking a file).
"""

from chainrule.spec.layer_types import INFERRED as INFERRED
from chainrule.spec.layer_types import NOT_LAYERS as NOT_LAYERS
from chainrule.spec.layer_types import REFUSED as REFUSED
from chainrule.spec.layer_types import TYPE_ALIASES as TYPE_ALIASES
from chainrule.spec.layer_types import layer_class as layer_class
from chainrule.spec.model import LayerSpec as LayerSpec
from chainrule.spec.model import Spec as Spec
from chainrule.spec.model import make_loss as make_loss
from chainrule.spec.parse import LAYER_KEYS as LAYER_KEYS
from chainrule.spec.parse import TOP_KEYS as TOP_KEYS
from chainrule.spec.parse import load_spec as load_spec
from chainrule.spec.parse import parse_spec as parse_spec
from chainrule.spec.parse import read_spec_data as read_spec_data
