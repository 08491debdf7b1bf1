"""Layers, losses and containers."""

from chainrule.nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh, activation
from chainrule.nn.containers import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss, MSELoss, SquaredError
from chainrule.nn.module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "Tanh", "Sigmoid", "ReLU", "Identity", "Softmax", "activation",
           "Sequential", "Loss", "SquaredError", "MSELoss", "CrossEntropyLoss"]
