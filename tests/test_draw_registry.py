"""Every public layer type has a picture in draw's table (chainrule.draw.layers.LABELS), and one that
had none would be refused by name, never drawn with another layer's label."""

import pytest
from layer_types import PUBLIC_LAYERS

from chainrule.draw.layers import LABELS, NOT_LAYERS, network_blocks
from chainrule.errors import ChainruleError
from chainrule.nn.activations import Activation
from chainrule.nn.module import Module


@pytest.mark.parametrize("name", sorted(PUBLIC_LAYERS))
def test_every_layer_has_a_label(name):
    cls = PUBLIC_LAYERS[name]
    assert cls in LABELS or cls in NOT_LAYERS or cls is Activation, f"{name} has no entry in draw.layers.LABELS"


def test_an_unknown_layer_is_refused_by_name():
    class Mystery(Module):
        def output_shape(self, input_shape):
            return input_shape

    with pytest.raises(ChainruleError, match="layer 0 is Mystery: draw has no picture"):
        network_blocks(Mystery(), (3,))
