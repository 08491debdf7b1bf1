"""Layers, losses and containers."""

from chainrule._names import NN_NAMES
from chainrule.nn.activations import ACTIVATIONS, Identity, ReLU, Sigmoid, Softmax, Tanh, activation
from chainrule.nn.adaptive_pool import AdaptiveAvgPool2d
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.binary_losses import BCELoss, BCEWithLogitsLoss
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.conv_transpose import ConvTranspose2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.losses import LOSSES, CrossEntropyLoss, HuberLoss, Loss, MSELoss, NLLLoss, SquaredError
from chainrule.nn.module import Module, Parameter
from chainrule.nn.pool import AvgPool2d, MaxPool2d
from chainrule.nn.rectifiers import ELU, GELU, LeakyReLU, SiLU
from chainrule.nn.utils import clip_grad_norm_

# The tables by name (a spec's `activation = "…"` / `loss = "…"`, `train --activation`, model files) get the
# layers and losses of the files that import their base class here, where the package is assembled:
# importing chainrule.nn.activations or chainrule.nn.losses runs this file first, so every reader sees
# the whole table.
ACTIVATIONS.update({"leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU, "silu": SiLU})
LOSSES.update({"bce": BCELoss, "bce-with-logits": BCEWithLogitsLoss})

__all__ = ["activation", *NN_NAMES]
