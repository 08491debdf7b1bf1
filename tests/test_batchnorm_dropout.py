"""BatchNorm1d, BatchNorm2d and Dropout against PyTorch (float64, 1e-10) and finite differences."""

import numpy as np
import pytest
import torch
from oracle import assert_close, check_against_torch

import chainrule as cr
from chainrule.interop.torch import from_torch, to_torch

CASES = [  # (layer, one batch's shape)
    (lambda: cr.BatchNorm1d(3), (5, 3)),
    (lambda: cr.BatchNorm1d(2, momentum=None), (4, 2, 3)),
    (lambda: cr.BatchNorm2d(2, eps=1e-3, momentum=0.3), (3, 2, 3, 4)),
    (lambda: cr.BatchNorm2d(2, affine=False), (2, 2, 3, 3)),
    (lambda: cr.BatchNorm1d(3, track_running_stats=False), (4, 3)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_batchnorm_matches_torch_over_steps_in_train_and_eval(case):
    make, shape = CASES[case]
    rng = np.random.default_rng(case)
    layer = make()
    if layer.affine:  # non-trivial γ, β
        layer.weight.data[...] = rng.normal(size=layer.num_features)
        layer.bias.data[...] = rng.normal(size=layer.num_features)
    net = cr.Sequential(layer)
    twin = to_torch(net)
    for _ in range(4):  # training steps: batch statistics, running statistics moving
        x = rng.normal(2.0, 3.0, size=shape)
        check_against_torch(net, x, rng.normal(size=shape), cr.MSELoss(), tmodel=twin)
    for name, b in layer.named_buffers():
        assert_close(b, getattr(twin[0], name).numpy(), 1e-10, name)
    net.eval()
    twin.eval()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    check_against_torch(net, rng.normal(size=shape), rng.normal(size=shape), cr.MSELoss(), tmodel=twin)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # eval never moves the running statistics


def test_batchnorm_state_dict_loads_strictly_into_torch_and_back():
    net = cr.Sequential(
        cr.Conv2d(1, 2, 3, rng=0), cr.BatchNorm2d(2), cr.ReLU(), cr.Flatten(), cr.Linear(8, 3, rng=1), cr.BatchNorm1d(3)
    )
    net.forward(np.random.default_rng(0).normal(size=(4, 1, 4, 4)))
    state = net.state_dict()
    assert [k for k in state if k.startswith("1.")] == [
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    t = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.BatchNorm2d(2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 3),
        torch.nn.BatchNorm1d(3),
    ).double()
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})  # strict
    back = from_torch(t)
    for k, v in back.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    assert int(back.layers[1].num_batches_tracked) == 1


@pytest.mark.parametrize("p", [0.0, 0.3, 0.75])
def test_dropout_matches_torch_with_chainrules_mask(p):
    rng = np.random.default_rng(1)
    net = cr.Sequential(cr.Linear(4, 6, rng=0), cr.Dropout(p, rng=3), cr.Tanh(), cr.Linear(6, 2, rng=1))
    twin = to_torch(net)
    masks = []
    twin[1].register_forward_hook(lambda m, i, o: i[0] * torch.from_numpy(masks[-1]))  # chainrule's mask in torch
    orig = net.layers[1].forward

    def forward(x):
        y = orig(x)
        masks.append(net.layers[1].noise)
        return y

    net.layers[1].forward = forward
    twin[1].p = 0.0  # the hook applies the mask; dropout itself must not draw another
    for _ in range(3):
        x = rng.normal(size=(5, 4))
        # torch runs first in the oracle: draw chainrule's next mask now (same seed) so torch's hook can use it
        masks.append((np.random.default_rng(len(masks)).random((5, 6)) >= p) / (1 - p))
        net.layers[1].generator = np.random.default_rng(len(masks) - 1)
        check_against_torch(net, x, rng.normal(size=(5, 2)), cr.MSELoss(), tmodel=twin)
        # both masks are NumPy draws from the same Generator stream (no BLAS, no second library): bitwise holds
        np.testing.assert_array_equal(masks[-1], masks[-2])  # chainrule drew the mask torch used
    kept = net.layers[1].noise != 0
    assert np.all(net.layers[1].noise[kept] == 1 / (1 - p))
    net.eval()
    x = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(net.layers[1].forward(x), x)


@pytest.mark.parametrize("training", [False, True])
def test_gradcheck_batchnorm_and_dropout_without_moving_buffers(training):
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Conv2d(2, 3, 2, rng=0),
        cr.BatchNorm2d(3),
        cr.Tanh(),
        cr.Flatten(),
        cr.Linear(12, 4, rng=1),
        cr.BatchNorm1d(4),
        cr.Dropout(0.4, rng=2),
    )
    net.forward(rng.normal(size=(3, 2, 3, 3)))  # running statistics away from 0 and 1
    before = {k: v.copy() for k, v in net.state_dict().items()}
    net.layers[1].weight.data[...] = rng.normal(size=3)
    report = cr.gradcheck(net, rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(3, 4)), cr.MSELoss(), training=False)
    assert report.ok(), str(report)
    if training:  # batch statistics; Dropout off (a new mask per evaluation would break the differences)
        net.layers[6].p = 0.0
        report = cr.gradcheck(net, rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(3, 4)), cr.MSELoss(), training=True)
        assert report.ok(), str(report)
    for k, v in net.state_dict().items():
        if not k.endswith(("weight", "bias")):
            np.testing.assert_array_equal(v, before[k])
    assert net.training


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: cr.Dropout(1.0), r"Dropout p must be a probability in \[0, 1\), got 1.0"),
        (lambda: cr.Dropout(-0.1), r"got -0.1"),
        (lambda: cr.BatchNorm2d(3, eps=0), r"BatchNorm2d eps must be a number > 0, got 0"),
        (lambda: cr.BatchNorm1d(0), r"BatchNorm1d num_features must be a whole number ≥ 1, got 0"),
        (lambda: cr.BatchNorm2d(3).output_shape((2, 4, 4)), r"BatchNorm2d\(3.*has shape \(2, 4, 4\).*3 feature"),
        (lambda: cr.BatchNorm1d(3).forward(np.zeros((1, 3))), r"more than 1 value per channel"),
    ],
)
def test_bad_arguments_name_the_layer_and_value(make, message):
    with pytest.raises(cr.ChainruleError, match=message):
        make()


def test_model_file_round_trip_with_buffers_is_bitwise(tmp_path):
    from chainrule.serialize import load_model, save_model

    rng = np.random.default_rng(4)
    net = cr.Sequential(
        cr.Conv2d(1, 2, 3, rng=0),
        cr.BatchNorm2d(2, momentum=None),
        cr.ReLU(),
        cr.Dropout(0.2),
        cr.Flatten(),
        cr.Linear(8, 3, rng=1),
        cr.BatchNorm1d(3),
    )
    for _ in range(3):
        net.forward(rng.normal(size=(4, 1, 4, 4)))
    save_model(tmp_path / "m.safetensors", net)
    back, _ = load_model(tmp_path / "m.safetensors")
    assert list(back.state_dict()) == list(net.state_dict())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
        assert back.state_dict()[k].dtype == v.dtype
    x = rng.normal(size=(5, 1, 4, 4))
    np.testing.assert_array_equal(back.eval().forward(x), net.eval().forward(x))
    one = np.concatenate([net.forward(x[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(one, net.forward(x), rtol=1e-12, atol=1e-12)  # eval: no dependence on the batch


def test_spec_builds_batchnorm_and_dropout_with_inferred_features():
    import tomllib

    from chainrule.spec import parse_spec

    text = """
input = [1, 6, 6]
[[layers]]
type = "conv2d"
out_channels = 3
kernel_size = 3
[[layers]]
type = "batchnorm2d"
[[layers]]
type = "dropout"
p = 0.25
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
units = 2
"""
    net, _ = parse_spec(tomllib.loads(text)).build(rng=0, init="xavier")
    bn = net.layers[1]
    assert bn.num_features == 3 and bn.weight.data.tolist() == [1, 1, 1]
    assert net.layers[2].p == 0.25
    assert cr.summary(net, (1, 6, 6)).rows[-1].output_shape == (2,)
    bad = text.replace('type = "batchnorm2d"', 'type = "batchnorm2d"\nnum_features = 4')
    with pytest.raises(cr.ChainruleError, match=r"\[\[layers\]\] #2.*BatchNorm2d\(4.*4 feature"):
        parse_spec(tomllib.loads(bad)).build(rng=0)


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_with_new_layers_export_to_onnx_and_round_trip(seed, tmp_path):
    from test_onnx_export import run_onnx

    from chainrule.export.onnx import onnx_model
    from chainrule.serialize import load_model, save_model

    rng = np.random.default_rng(seed)
    c = int(rng.integers(1, 3))
    layers = [
        cr.Conv2d(c, 3, int(rng.integers(1, 4)), padding=1, dtype=np.float32, rng=seed),
        cr.BatchNorm2d(3, dtype=np.float32),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Dropout(0.3, rng=seed),
        cr.Flatten(),
    ]
    net = cr.Sequential(*layers)
    flat = net.output_shape((c, 6, 6))[0]
    net = cr.Sequential(
        *layers, cr.Linear(flat, 4, dtype=np.float32, rng=seed), cr.BatchNorm1d(4, dtype=np.float32), cr.Tanh()
    )
    for _ in range(3):  # move the running statistics
        net.forward(rng.normal(size=(5, c, 6, 6)).astype(np.float32))
    before = {k: v.copy() for k, v in net.state_dict().items()}
    cr.summary(net, (c, 6, 6))
    proto = onnx_model(net, (c, 6, 6))
    for k, v in net.state_dict().items():  # building, summarising and exporting never move a buffer
        np.testing.assert_array_equal(v, before[k])
    assert "Dropout" not in {n.op_type for n in proto.graph.node}
    x = rng.normal(size=(3, c, 6, 6)).astype(np.float32)
    want = net.eval().forward(x)
    np.testing.assert_allclose(run_onnx(proto, x), want, rtol=1e-5, atol=1e-5)
    save_model(tmp_path / "m.safetensors", net)
    back, _ = load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back.eval().forward(x), want)
    twin = to_torch(net)
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)
    again = from_torch(twin)
    for k, v in again.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
