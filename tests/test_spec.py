"""Network spec files: building networks, and errors that name the file, the key and the problem."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.spec import load_spec, parse_spec

RECITATION = """
x = [1, 2]
y = 3
loss = "squared"
[[layers]]
weights = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]
activation = "tanh"
[[layers]]
weights = [[0, 1, 2, 2]]
activation = "identity"
"""


def test_recitation_spec_builds_the_recitation_network(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text(RECITATION)
    spec = load_spec(f)
    net, loss = spec.build()
    assert isinstance(loss, cr.SquaredError)
    assert loss(net(spec.x), spec.y) == pytest.approx(1.8395036888, abs=1e-9)
    assert np.array_equal(net[0].folded, [[0, 1, 2], [2, 1, 0], [0, 2, 0]])


def test_softmax_cross_entropy_is_fused():
    spec = parse_spec(
        {
            "x": [1, 2],
            "y": 1,
            "loss": "cross-entropy",
            "layers": [{"weights": [[0, 1, 2], [0, 1, 1]], "activation": "softmax"}],
        }
    )
    net, loss = spec.build()
    assert spec.softmax_output and not isinstance(net[-1], cr.Softmax)
    loss(net(spec.x), spec.y)
    np.testing.assert_allclose(loss.backward(), loss.probs - [0, 1])


def test_softmax_output_defaults_to_cross_entropy_as_explain_does():
    layers = [{"weights": [[0, 1], [0, 2], [1, 0]], "activation": "softmax"}]
    spec = parse_spec({"x": [1], "y": 2, "layers": layers})  # no 'loss': a class label, as cr.explain reads it
    net, loss = spec.build()
    assert isinstance(loss, cr.CrossEntropyLoss) and spec.y == 2 and len(net) == 1
    assert parse_spec({"x": [1], "y": [1, 2, 3], "layers": [{"weights": [[0, 1]] * 3}]}).loss == "squared"


def test_layers_without_weights_are_seeded():
    spec = parse_spec({"input": 4, "layers": [{"units": 8, "activation": "relu"}, {"units": 3, "bias": False}]})
    a, _ = spec.build(rng=1)
    b, _ = spec.build(rng=1)
    assert a[2].bias is None
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    zeros, _ = spec.build(rng=1, init="zeros")
    assert not any(p.data.any() for p in zeros.parameters())


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"layers": [{"weights": [[0, 1, 2], [2, 1, 0]], "activation": "tanh"}, {"weights": [[0, 1, 2, 2]]}]},
            r"\[\[layers\]\] #2, key 'weights': has 4 columns; expected 3 \(the previous layer's width 2",
        ),
        ({"layers": [{"weights": [[0, 1, "a"]]}]}, r"#1, key 'weights': entry \[0\]\[2\] is 'a', not a number"),
        ({"layers": [{"weights": [[0, 1], [2]]}]}, "ragged"),
        ({"layers": [{"weights": [[0, 1, 2]], "activation": "tanhh"}]}, "key 'activation': unknown activation 'tanhh'"),
        ({"layers": [{"type": "magic", "units": 2}]}, "key 'type': unknown layer type 'magic'"),
        ({"x": [1, 2, 3], "layers": [{"weights": [[0, 1, 2]]}]}, "expected 4 \\(the input's width 3"),
        (
            {"x": [1, 2], "y": 5, "loss": "cross-entropy", "layers": [{"weights": [[0, 1, 2], [0, 1, 1]]}]},
            "key 'y': class label 5 is out of range for 2 classes",
        ),
        ({"x": [1, 2], "loss": "squared", "layers": [{"weights": [[0, 1, 2]]}]}, "key 'y': missing"),
        ({"lyers": []}, "key 'lyers': unknown top-level key"),
        ({"x": [1]}, "key 'layers': missing"),
        ({"layers": [{"units": 3}]}, "cannot tell this layer's input width"),
        ({"loss": "hinge", "layers": [{"units": 3}]}, "key 'loss': unknown loss 'hinge'"),
        ({"input": 2, "layers": [{"units": 0}]}, "key 'units': must be a whole number"),
    ],
)
def test_bad_specs(data, message):
    with pytest.raises(cr.ChainruleError, match=message) as e:
        parse_spec(data, "bad.toml").build()
    assert str(e.value).startswith("bad.toml: ")


def test_bad_files(tmp_path):
    with pytest.raises(cr.ChainruleError, match="no such file"):
        load_spec(tmp_path / "nope.toml")
    (tmp_path / "broken.toml").write_text("x = [1, 2\n")
    with pytest.raises(cr.ChainruleError, match="broken.toml: not valid TOML"):
        load_spec(tmp_path / "broken.toml")


def test_a_byte_order_mark_is_not_a_toml_error(tmp_path):
    path = tmp_path / "bom.toml"  # Notepad on Windows writes UTF-8 with a BOM
    path.write_bytes(b"\xef\xbb\xbf" + b"x = [1, 2]\ny = 3\n[[layers]]\nweights = [[0, 1, 2]]\n")
    assert load_spec(path).x.tolist() == [1, 2]
    from chainrule.cli import main

    assert main(["explain", str(path)]) == 0
