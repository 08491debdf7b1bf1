"""Issue 11's acceptance across concerns: random networks mixing old and new layers (ConvTranspose2d,
AdaptiveAvgPool2d, BatchNorm, Dropout, the new activations) round-trip through model files and PyTorch bitwise
and agree with onnxruntime to 1e-5 (float32); every --init scheme works with BatchNorm; building, summarising
and exporting never move a buffer; spec files carry activation and loss parameters; bad input is one line,
exit 2, naming the layer and the value."""

import json

import numpy as np
import pytest
import torch
from test_onnx_export import run_onnx

import chainrule as cr
from chainrule.cli import main
from chainrule.export.onnx import onnx_model
from chainrule.interop.torch import from_torch, to_torch
from chainrule.nn.initialize import _WEIGHT, ALIASES, initialize
from chainrule.serialize import load_model, save_model
from chainrule.spec import parse_spec

F32 = np.float32


def random_network(seed: int) -> tuple[cr.Sequential, tuple[int, int, int]]:
    """An image network of old and new layers, float32, its running statistics moved by a few batches."""
    rng = np.random.default_rng(seed)
    c = int(rng.integers(1, 3))
    acts = [cr.ReLU, lambda: cr.LeakyReLU(0.1), lambda: cr.ELU(0.7), cr.GELU, lambda: cr.GELU("tanh"), cr.SiLU]

    def act():
        return acts[int(rng.integers(len(acts)))]()

    first = (
        cr.ConvTranspose2d(c, 3, 3, stride=2, padding=1, output_padding=1, dtype=F32, rng=seed)
        if seed % 2
        else cr.Conv2d(c, 3, 3, padding=1, dtype=F32, rng=seed)
    )
    layers = [first, cr.BatchNorm2d(3, dtype=F32), act()]
    layers += [cr.MaxPool2d(2)] if seed % 3 == 0 else [cr.AvgPool2d(2)] if seed % 3 == 1 else []
    layers += [cr.ConvTranspose2d(3, 2, 2, stride=2, groups=1, dtype=F32, rng=seed + 1), act()] if seed % 4 == 3 else []
    pooled = 1 if seed % 2 else 2
    layers += [cr.AdaptiveAvgPool2d(pooled), cr.Flatten(), cr.Dropout(0.3, rng=seed)]
    shape = (c, 4, 4)
    width = cr.Sequential(*layers).output_shape(shape)[0]
    layers += [
        cr.Linear(width, 5, dtype=F32, rng=seed),
        cr.BatchNorm1d(5, dtype=F32),
        act(),
        cr.Linear(5, 3, dtype=F32, rng=seed),
    ]
    if seed % 2:
        layers.append(cr.LogSoftmax(dim=1))
    net = cr.Sequential(*layers)
    for _ in range(3):
        net.forward(rng.normal(size=(4, *shape)).astype(F32))
    return net, shape


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_round_trip_bitwise_and_agree_with_onnxruntime(seed, tmp_path):
    net, shape = random_network(seed)
    before = {k: np.array(v, copy=True) for k, v in net.state_dict().items()}
    cr.summary(net, shape)
    proto = onnx_model(net, shape)
    for k, v in net.state_dict().items():  # summarising and exporting move no buffer
        assert np.asarray(v).tobytes() == before[k].tobytes(), k
    x = np.random.default_rng(seed + 10).normal(size=(3, *shape)).astype(F32)
    want = net.eval().forward(x)
    np.testing.assert_allclose(run_onnx(proto, x), want, rtol=1e-5, atol=1e-5)
    save_model(tmp_path / "m.safetensors", net)
    back, _ = load_model(tmp_path / "m.safetensors")
    assert back.to_config() == net.to_config()
    assert back.eval().forward(x).tobytes() == want.tobytes()
    twin = to_torch(net).eval()
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)
    again = from_torch(twin)
    assert again.to_config() == net.to_config()
    for k, v in again.state_dict().items():
        assert np.asarray(v).tobytes() == before[k].tobytes(), k
    assert again.eval().forward(x).tobytes() == want.tobytes()


@pytest.mark.parametrize("scheme", sorted([*_WEIGHT, *ALIASES]))
def test_every_init_scheme_works_with_batchnorm(scheme):
    net, shape = random_network(1)
    initialize(net, scheme, np.random.default_rng(0))
    for m in net.modules():
        if isinstance(m, (cr.BatchNorm1d, cr.BatchNorm2d)):
            assert np.all(m.weight.data == 1) and np.all(m.bias.data == 0)
    y = net.eval().forward(np.ones((2, *shape), dtype=F32))
    assert np.all(np.isfinite(y))


def test_building_a_spec_moves_no_buffer_and_init_reaches_every_layer():
    data = {
        "input": [1, 4, 4],
        "layers": [
            {"type": "convtranspose2d", "out_channels": 2, "kernel_size": 2, "stride": 2},
            {"type": "batchnorm2d"},
            {"type": "adaptiveavgpool2d", "output_size": 2},
            {"type": "flatten"},
            {"units": 3, "activation": "gelu", "approximate": "tanh"},
        ],
    }
    a, _ = parse_spec(data).build(rng=0, init="xavier")
    b, _ = parse_spec(data).build(rng=0, init="xavier")
    assert a.to_config() == b.to_config() and all(
        np.asarray(v).tobytes() == np.asarray(b.state_dict()[k]).tobytes() for k, v in a.state_dict().items()
    )
    bn = a[1]
    assert bn.num_features == 2 and np.all(bn.running_mean == 0) and np.all(bn.running_var == 1)
    assert int(bn.num_batches_tracked) == 0
    assert a[5].approximate == "tanh"


def test_spec_files_carry_activation_and_loss_parameters():
    spec = parse_spec(
        {
            "input": 3,
            "x": [1, 2, 3],
            "y": 1,
            "loss": {"type": "cross-entropy", "label_smoothing": 0.1, "weight": [1, 2]},
            "layers": [
                {"units": 4, "activation": "leaky_relu", "negative_slope": 0.2},
                {"type": "elu", "alpha": 0.5},
                {"units": 2},
            ],
        }
    )
    net, loss = spec.build(rng=0)
    assert net[1].negative_slope == 0.2 and net[2].alpha == 0.5
    assert loss.label_smoothing == 0.1 and loss.weight.tolist() == [1, 2]
    huber = parse_spec({"input": 2, "loss": {"type": "huber", "delta": 0.5}, "layers": [{"units": 1}]}).build(rng=0)
    assert huber[1].delta == 0.5


def _write_spec(tmp_path, layers: str, top: str = "input = 3\n") -> str:
    path = tmp_path / "net.toml"
    path.write_text(top + layers)
    return str(path)


DENSE = "[[layers]]\nunits = 4\n"


@pytest.mark.parametrize(
    "layers, top, message",
    [
        (DENSE + '[[layers]]\ntype = "dropout"\np = 1.0\n', "", "Dropout p must be a probability in [0, 1), got 1.0"),
        (DENSE + '[[layers]]\ntype = "dropout"\np = -0.1\n', "", "got -0.1"),
        (DENSE + '[[layers]]\ntype = "batchnorm1d"\neps = 0\n', "", "BatchNorm1d eps must be a number > 0, got 0"),
        (DENSE + '[[layers]]\ntype = "batchnorm1d"\neps = -1e-5\n', "", "got -1e-05"),
        (DENSE + '[[layers]]\ntype = "batchnorm1d"\nnum_features = 5\n', "", "BatchNorm1d(5"),
        (
            '[[layers]]\ntype = "conv2d"\nout_channels = 2\nkernel_size = 1\n[[layers]]\ntype = "batchnorm2d"\n'
            "num_features = 3\n",
            "input = [1, 4, 4]\n",
            "BatchNorm2d(3",
        ),  # fmt: skip
        (
            '[[layers]]\ntype = "convtranspose2d"\nout_channels = 2\nkernel_size = 3\noutput_padding = 1\n',
            "input = [1, 4, 4]\n",
            "ConvTranspose2d: output_padding (1, 1) must be smaller",
        ),  # fmt: skip
        ('[[layers]]\ntype = "adaptiveavgpool2d"\noutput_size = 0\n', "input = [1, 4, 4]\n", "AdaptiveAvgPool2d"),
        ('[[layers]]\ntype = "sequential"\n', "", "'sequential' is not a layer type of a spec"),
        (DENSE, 'loss = {type = "cross-entropy", label_smoothing = 2}\n', "label_smoothing must be in [0, 1], got 2"),
        (DENSE, 'loss = {type = "huber", beta = 1}\n', "HuberLoss takes no argument 'beta'"),
        (DENSE + 'activation = "leaky_relu"\nnegative_slope = -1\n', "", "negative_slope must be"),
    ],
)
def test_bad_specs_are_one_line_exit_2_naming_the_layer_and_value(layers, top, message, tmp_path, capsys):
    path = _write_spec(tmp_path, layers, top if top.startswith("input") else "input = 3\n" + top)
    code = main(["summary", path])
    _, err = capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "[[layers]]" in err or "key 'loss'" in err


def test_a_scheduler_without_an_optimiser_is_a_clear_error():
    from chainrule.optim.lr_scheduler import ReduceLROnPlateau

    with pytest.raises(cr.ChainruleError, match="ReduceLROnPlateau: needs an optimiser to schedule"):
        ReduceLROnPlateau(None)


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    path = tmp_path_factory.mktemp("data") / "train.csv"
    path.write_text(
        "label,a,b,c,d\n" + "".join(f"{t}," + ",".join(f"{v:.3f}" for v in r) + "\n" for t, r in zip(y, X, strict=True))
    )
    return path


@pytest.mark.parametrize("ends", ["logsoftmax", "none"])
def test_train_with_nll_after_log_softmax_or_a_clear_refusal(ends, digits_csv, tmp_path, capsys):
    layers = '[[layers]]\nunits = 6\nactivation = "elu"\n[[layers]]\ntype = "batchnorm1d"\n[[layers]]\nunits = 3\n'
    if ends == "logsoftmax":
        layers += '[[layers]]\ntype = "logsoftmax"\ndim = 1\n'
    spec = _write_spec(tmp_path, layers, 'input = 4\nloss = "nll"\n')
    args = ["train", "--model", spec, "--train", str(digits_csv), "--epochs", "2", "--init", "xavier"]
    code = main([*args, "--progress", "lines", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    if ends == "none":
        assert code == 2 and "loss nll takes log-probabilities, but the network ends in Linear" in err
        return
    assert code == 0, err
    net, extra = load_model(tmp_path / "run" / "model.safetensors")
    assert extra["loss"] == "nll" and type(net[-1]).__name__ == "LogSoftmax"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert len(metrics) == 2 and all(np.isfinite(e["train_loss"]) for e in metrics)


def test_explain_refuses_a_spec_loss_with_parameters_rather_than_print_the_plain_one(tmp_path, capsys):
    path = _write_spec(
        tmp_path, "[[layers]]\nunits = 2\n", 'x = [1, 2]\ny = 1\nloss = {type = "cross-entropy", weight = [1, 2]}\n'
    )
    code = main(["explain", path])
    _, err = capsys.readouterr()
    assert code == 2 and "without class weights or label smoothing" in err and len(err.strip().splitlines()) == 1
