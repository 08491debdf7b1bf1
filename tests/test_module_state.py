"""Module state as PyTorch has it: training mode, buffers, state_dict, reset_parameters, output_shape."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.initialize import initialize
from chainrule.nn.module import Module


class _Counter(Module):
    """A test layer with one persistent and one non-persistent buffer."""

    def __init__(self, n: int = 3):
        self.register_buffer("count", np.zeros(n))
        self.register_buffer("scratch", np.ones(2), persistent=False)

    def forward(self, x):
        return x


def net():
    return cr.Sequential(
        cr.Conv2d(1, 2, 3, padding=1, rng=0), cr.ReLU(), cr.MaxPool2d(2), cr.Flatten(), cr.Linear(32, 3, rng=1)
    )


def test_train_and_eval_propagate_and_mode_restores():
    m = net()
    assert m.training and all(layer.training for layer in m.layers)
    assert m.eval() is m and not any(layer.training for layer in m.modules())
    m.train()
    m.layers[1].eval()
    with m.mode(False):
        assert not any(layer.training for layer in m.modules())
    assert m.training and not m.layers[1].training and m.layers[0].training
    with pytest.raises(cr.ChainruleError, match="True or False"):
        m.train("yes")


def test_children_yield_modules_and_named_children_pairs():
    m = net()
    assert list(m.children()) == list(m.layers)
    assert [n for n, _ in m.named_children()] == ["0", "1", "2", "3", "4"]
    assert len(list(m.modules())) == 6


def test_buffers_in_state_dict_and_strict_load():
    m = cr.Sequential(cr.Linear(2, 3, rng=0), _Counter())
    assert list(m.state_dict()) == ["0.weight", "0.bias", "1.count"]  # non-persistent buffer left out
    assert [n for n, _ in m.named_buffers()] == ["1.count", "1.scratch"]
    state = m.state_dict()
    state["1.count"] = np.arange(3.0)
    m.load_state_dict(state)
    np.testing.assert_array_equal(m.layers[1].count, [0, 1, 2])
    with pytest.raises(cr.ChainruleError, match=r"missing key\(s\) 1.count"):
        m.load_state_dict({k: v for k, v in state.items() if k != "1.count"})
    m.load_state_dict({"1.count": np.full(3, 5.0)}, strict=False)
    np.testing.assert_array_equal(m.layers[1].count, [5, 5, 5])
    with pytest.raises(cr.ChainruleError, match=r"'1.count' has shape \(2,\); the network expects \(3,\)"):
        m.load_state_dict({**state, "1.count": np.zeros(2)})


def test_reset_parameters_by_scheme_and_default_is_pytorchs():
    a, b = cr.Linear(4, 3, rng=5), cr.Linear(4, 3, rng=0)
    b.reset_parameters(np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    m = initialize(net(), "xavier", 0)
    assert not m.layers[0].bias.data.any() and m.layers[4].weight.data.any()
    bound = np.sqrt(6 / (32 + 3))
    assert np.abs(m.layers[4].weight.data).max() <= bound


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 9, 7)])
def test_output_shape_agrees_with_forward(shape):
    m = cr.Sequential(cr.Conv2d(1, 2, 3, stride=2, rng=0), cr.AvgPool2d(2, stride=1), cr.Flatten())
    assert m.output_shape(shape) == m.forward(np.zeros((2, *shape))).shape[1:]
    with pytest.raises(cr.ChainruleError, match="2 channel"):
        m.output_shape((2, *shape[1:]))
