"""The explain concern knows every public layer: a rule of its own, or a one-line refusal naming it."""

import numpy as np
import pytest
from layer_types import PUBLIC_LAYERS

import chainrule as cr
from chainrule.explain.rules import ABSTRACT, NOT_LAYERS, RULES, rule_for

PUBLIC = sorted(n for n, c in PUBLIC_LAYERS.items() if c not in NOT_LAYERS and n not in ABSTRACT)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_layer_has_its_own_rule_or_is_refused_by_name(name):
    cls = PUBLIC_LAYERS[name]
    if cls in RULES:
        assert RULES[cls]  # keyed by the class itself: a subclass never borrows its parent's rule
        return
    layer = cls.__new__(cls)  # no constructor arguments needed to ask for a rule
    with pytest.raises(cr.ChainruleError) as e:
        rule_for(layer, 3)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"layer 3 is {name}:")


def test_batchnorm_has_its_own_rule():
    assert {"BatchNorm1d", "BatchNorm2d"} <= {c.__name__ for c in RULES}
    for cls in (cr.BatchNorm1d, cr.BatchNorm2d):
        assert type(rule_for(cls(2), 0)).__module__.endswith("rules.batchnorm")


def test_rules_are_keyed_by_exact_class():
    class Gelu(cr.Tanh):  # a new activation subclassing an old one must not print tanh's equations
        pass

    with pytest.raises(cr.ChainruleError, match="layer 0 is Gelu: explain has no rule"):
        rule_for(Gelu(), 0)


def test_a_layer_without_a_rule_in_a_cnn_is_refused_in_one_line_naming_it():
    net = cr.Sequential(cr.nn.Conv2d(1, 1, 3), cr.nn.ConvTranspose2d(1, 1, 1), cr.nn.Flatten(), cr.Linear(4, 1))
    with pytest.raises(cr.ChainruleError, match=r"^layer 1 is ConvTranspose2d: .*\(explain handles Linear"):
        cr.explain(net, np.zeros((1, 4, 4)), 1.0)


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[[layers]]\ntype = "convtranspose2d"\nout_channels = 1\nkernel_size = 1\n', "layer 1 is ConvTranspose2d: "),
        ('[[layers]]\ntype = "batchnorm2d"\ntrack_running_stats = false\n', "layer 1 is BatchNorm2d(track_running_"),
        ('[[layers]]\ntype = "softmax"\n', "layer 1 is Softmax on a map:"),
        ('[[layers]]\ntype = "leakyrelu"\n', "layer 1 is LeakyReLU on a map:"),  # a dense rule, not a map's
    ],
)
def test_the_cli_names_the_layer_and_the_reason_in_one_line(tmp_path, capsys, extra, message):
    from chainrule.cli import main

    spec = tmp_path / "conv.toml"
    spec.write_text(
        "input = [1, 4, 4]\nx = [[[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]]\n"
        'y = [[[0, 0], [0, 0]]]\nloss = "squared"\n[[layers]]\ntype = "conv2d"\nout_channels = 1\n'
        "kernel_size = 3\n" + extra,
        encoding="utf-8",
    )
    assert main(["explain", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and str(spec) in err
