"""chainrule: a NumPy neural-network engine that shows its work."""

from chainrule.errors import ChainruleError
from chainrule.explain import Explanation, explain  # noqa: E402  (after nn: the explainer reads the engine)
from chainrule.gradcheck import gradcheck
from chainrule.nn import (
    AvgPool2d,
    Conv2d,
    CrossEntropyLoss,
    Flatten,
    Identity,
    Linear,
    Loss,
    MaxPool2d,
    Module,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SquaredError,
    Tanh,
)
from chainrule.nn.summary import summary
from chainrule.optim import SGD, Adagrad, Adam

__version__ = "0.1.0"

__all__ = ["ChainruleError", "gradcheck", "Module", "Parameter", "Linear", "Tanh", "Sigmoid", "ReLU",
           "Identity", "Softmax", "Sequential", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Loss",
           "SquaredError", "MSELoss", "CrossEntropyLoss", "SGD", "Adagrad", "Adam", "summary", "explain",
           "Explanation"]
