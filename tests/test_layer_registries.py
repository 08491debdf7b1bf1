"""Every public layer type (Module.registry) is handled by each concern's table, or refused there by name."""

import pytest
from layer_types import PUBLIC_LAYERS

from chainrule.export.onnx_layers import LAYERS
from chainrule.interop.torch import TO_TORCH
from chainrule.nn.module import Module
from chainrule.spec import NOT_LAYERS, _layer_class

CONTAINERS = {"Sequential", "Activation"}  # walked by each concern itself, or an abstract base


@pytest.mark.parametrize("name", sorted(PUBLIC_LAYERS))
def test_every_layer_has_an_onnx_rule_or_refusal(name):
    assert PUBLIC_LAYERS[name] in LAYERS, f"{name} has no entry in export.onnx_layers.LAYERS"


@pytest.mark.parametrize("name", sorted(set(PUBLIC_LAYERS) - CONTAINERS))
def test_every_layer_has_a_torch_twin_and_output_shape_and_spec_type(name):
    cls = PUBLIC_LAYERS[name]
    assert cls in TO_TORCH, f"{name} has no PyTorch twin in interop.torch.TO_TORCH"
    assert "output_shape" in {k for c in cls.__mro__ if c is not Module for k in vars(c)} or name in {
        "Tanh",
        "Sigmoid",
        "ReLU",
        "Identity",
        "Softmax",
        "Dropout",
    }, f"{name} keeps its input shape?"
    assert name in NOT_LAYERS or _layer_class(name.lower()) is cls
