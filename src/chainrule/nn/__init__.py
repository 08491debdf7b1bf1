"""Layers, losses and containers."""

from chainrule.nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh, activation
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss, MSELoss, SquaredError
from chainrule.nn.module import Module, Parameter
from chainrule.nn.pool import AvgPool2d, MaxPool2d

__all__ = ["Module", "Parameter", "Linear", "Tanh", "Sigmoid", "ReLU", "Identity", "Softmax", "activation",
           "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Loss", "SquaredError", "MSELoss",
           "CrossEntropyLoss", "BatchNorm1d", "BatchNorm2d", "Dropout"]
