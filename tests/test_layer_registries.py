"""Every public layer type (tests/layer_types.PUBLIC_LAYERS) is handled by each concern, or refused there by name.

The concerns: explain (explain.rules.rule_for), ONNX export (export.onnx_layers.LAYERS), the PyTorch twin
(interop.torch.TO_TORCH), summary and output shape (nn.summary.SHAPE_RULES and each layer's output_shape),
spec building (spec.INFERRED) and model-file metadata (to_config / from_config through a safetensors file).
EXAMPLES holds one instance of each layer type with an input it takes: a layer added without an example
fails here first, so no new layer can skip a concern.
"""

import numpy as np
import pytest
from layer_types import PUBLIC_LAYERS

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.explain.rules import rule_for
from chainrule.export.onnx import onnx_model
from chainrule.export.onnx_layers import LAYERS
from chainrule.interop.torch import TO_TORCH, to_torch
from chainrule.nn.module import Module
from chainrule.nn.summary import REFUSED as SUMMARY_REFUSED
from chainrule.nn.summary import SHAPE_RULES, summary
from chainrule.serialize import load_model, save_model
from chainrule.spec import INFERRED, REFUSED, layer_class, parse_spec

ABSTRACT = {"Activation"}  # registered base class: refused by name everywhere, never instantiated

# name -> (a layer of that type, the shape of one example it takes)
EXAMPLES = {
    "Linear": (lambda: cr.Linear(3, 2, rng=0), (3,)),
    "Tanh": (cr.Tanh, (3,)),
    "Sigmoid": (cr.Sigmoid, (3,)),
    "ReLU": (cr.ReLU, (3,)),
    "Identity": (cr.Identity, (3,)),
    "Softmax": (lambda: cr.Softmax(dim=1), (3,)),
    "LeakyReLU": (lambda: cr.LeakyReLU(0.2), (3,)),
    "ELU": (lambda: cr.ELU(0.5), (3,)),
    "GELU": (lambda: cr.GELU("tanh"), (3,)),
    "SiLU": (cr.SiLU, (3,)),
    "LogSoftmax": (lambda: cr.LogSoftmax(dim=1), (3,)),
    "Dropout": (lambda: cr.Dropout(0.3, rng=0), (3,)),
    "BatchNorm1d": (lambda: cr.BatchNorm1d(3), (3,)),
    "BatchNorm2d": (lambda: cr.BatchNorm2d(2), (2, 4, 4)),
    "Conv2d": (lambda: cr.Conv2d(2, 3, 3, padding=1, rng=0), (2, 4, 4)),
    "ConvTranspose2d": (lambda: cr.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=0), (2, 3, 3)),
    "MaxPool2d": (lambda: cr.MaxPool2d(2), (2, 4, 4)),
    "AvgPool2d": (lambda: cr.AvgPool2d(2), (2, 4, 4)),
    "AdaptiveAvgPool2d": (lambda: cr.AdaptiveAvgPool2d(1), (2, 4, 4)),
    "Flatten": (cr.Flatten, (2, 4, 4)),
    "Sequential": (lambda: cr.Sequential(cr.Linear(3, 2, rng=0), cr.Tanh()), (3,)),
}
PUBLIC = sorted(set(PUBLIC_LAYERS) - ABSTRACT)  # chainrule's own layers (tests/layer_types.py)


def test_every_public_layer_has_an_example_and_is_exported_by_name():
    assert set(EXAMPLES) == set(PUBLIC), "give the new layer an entry in EXAMPLES"
    names = {n for n in cr.nn.__all__ if isinstance(getattr(cr.nn, n), type) and issubclass(getattr(cr.nn, n), Module)}
    assert set(PUBLIC) <= names | {"Sequential"}


def _refused_naming(name: str, call) -> None:
    with pytest.raises(ChainruleError) as e:
        call()
    msg = str(e.value)
    assert name in msg and "\n" not in msg, msg


@pytest.mark.parametrize("name", PUBLIC)
def test_explain_has_the_layers_own_rule_or_refuses_it_by_name(name):
    layer = EXAMPLES[name][0]()
    try:
        assert rule_for(layer, 0)
    except ChainruleError as e:
        assert name in str(e) and "\n" not in str(e)


@pytest.mark.parametrize("name", PUBLIC)
def test_onnx_exports_the_layer_or_refuses_it_by_name(name):
    make, shape = EXAMPLES[name]
    cls = Module.registry[name]
    assert cls in LAYERS, f"{name} has no entry in export.onnx_layers.LAYERS"
    net = make() if name == "Sequential" else cr.Sequential(make())
    net.eval()
    try:
        proto = onnx_model(net, shape)
    except ChainruleError as e:
        assert name in str(e) and "\n" not in str(e)
    else:
        assert proto.graph.node or name in ("Dropout", "Identity")


@pytest.mark.parametrize("name", PUBLIC)
def test_the_torch_twin_computes_the_same(name):
    import torch

    make, shape = EXAMPLES[name]
    layer = make().eval()
    assert type(layer) in TO_TORCH or name == "Sequential"
    x = np.random.default_rng(0).normal(size=(2, *shape))
    twin = to_torch(layer).eval()
    np.testing.assert_allclose(layer.forward(x), twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", PUBLIC)
def test_summary_and_output_shape_agree_with_a_forward_pass(name):
    make, shape = EXAMPLES[name]
    layer = make().eval()
    cls = type(layer)
    assert cls in SHAPE_RULES, f"{name} has no summary rule in nn.summary.SHAPE_RULES"
    before = {k: v.copy() for k, v in layer.state_dict().items()}
    out = layer.output_shape(shape)
    row = summary(cr.Sequential(layer) if name != "Sequential" else layer, shape).rows[-1]
    assert row.output_shape == out == layer.forward(np.ones((2, *shape)))[0].shape
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_summary_refuses_an_unknown_layer_type_by_name():
    class Mystery(cr.Tanh):
        pass

    assert cr.nn.activations.Activation in SUMMARY_REFUSED
    _refused_naming("Mystery", lambda: summary(cr.Sequential(Mystery()), (3,)))


@pytest.mark.parametrize("name", PUBLIC)
def test_a_spec_builds_the_layer_or_refuses_it_by_name(name):
    make, shape = EXAMPLES[name]
    layer = make()
    text = {"input": list(shape), "layers": [{"type": name.lower()}]}
    if name in REFUSED:
        _refused_naming(f"{name.lower()!r}", lambda: parse_spec(text).build(rng=0))
        return
    cls = type(layer)
    assert cls in INFERRED and layer_class(name.lower()) is cls
    cfg = {k: v for k, v in layer.config().items() if k not in INFERRED[cls] and k != "dtype"}
    if name == "Linear":
        cfg = {"units": layer.out_features}
    built, _ = parse_spec({"input": list(shape), "layers": [{"type": name.lower(), **cfg}]}).build(rng=0)
    assert built[0].to_config() == layer.to_config()


def test_a_spec_refuses_the_abstract_activation_by_name():
    _refused_naming("'activation'", lambda: parse_spec({"input": 3, "layers": [{"type": "activation"}]}).build())


@pytest.mark.parametrize("name", PUBLIC)
def test_a_model_file_keeps_the_layer_bitwise(name, tmp_path):
    make, shape = EXAMPLES[name]
    layer = make()
    net = layer if name == "Sequential" else cr.Sequential(layer)
    net.forward(np.random.default_rng(1).normal(size=(4, *shape)))  # training mode: buffers move
    save_model(tmp_path / "m.safetensors", net)
    back, _ = load_model(tmp_path / "m.safetensors")
    assert back.to_config() == net.to_config()
    theirs = back.state_dict()
    for k, v in net.state_dict().items():
        assert theirs[k].tobytes() == np.asarray(v).tobytes() and theirs[k].dtype == np.asarray(v).dtype
    x = np.random.default_rng(2).normal(size=(3, *shape))
    np.testing.assert_array_equal(back.eval().forward(x), net.eval().forward(x))


@pytest.mark.parametrize("concern", ["onnx", "torch", "summary", "spec", "file"])
def test_the_abstract_activation_is_refused_by_name(concern):
    cls = Module.registry["Activation"]
    layer = cls.__new__(cls)
    call = {
        "onnx": lambda: onnx_model(cr.Sequential(layer), (3,)),
        "torch": lambda: to_torch(layer),
        "summary": lambda: summary(cr.Sequential(layer), (3,)),
        "spec": lambda: parse_spec({"input": 3, "layers": [{"type": "activation"}]}).build(),
        "file": lambda: Module.from_config({"type": "Sequential", "layers": [{"type": "Activation"}]}),
    }[concern]
    _refused_naming("ctivation", call)
