"""Optimisers (PyTorch's update rules) and learning-rate schedulers (``chainrule.optim.lr_scheduler``)."""

from chainrule.optim.adamw import AdamW
from chainrule.optim.optimizers import SGD, Adagrad, Adam, Optimizer
from chainrule.optim.rmsprop import RMSprop

OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam", "AdamW", "RMSprop", "OPTIMIZERS"]
