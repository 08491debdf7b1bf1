"""ONNX export: the graph passes onnx.checker, and onnxruntime computes what chainrule computes.

float32 is compared to 1e-5 relative in onnxruntime; float64 to 1e-10 in onnxruntime where its CPU
kernels exist (Gemm, activations, MaxPool) and in onnx's own reference evaluator where they do not
(Conv, AveragePool have float-only CPU kernels). "Relative" is per element, with an absolute floor of
rtol · max|y|: a float32 sum that cancels to ~1e-4 legitimately differs in its 4th digit.
"""

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import chainrule as cr
from chainrule.cli import main
from chainrule.export import onnx_model, save_onnx
from chainrule.serialize import load_model, save_model

ACTS = [cr.Tanh, cr.Sigmoid, cr.ReLU, cr.Identity]


def random_mlp(rng, dtype, widths=(5, 8, 6, 3), softmax=True):
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers.append(cr.Linear(a, b, bias=bool(i % 2 == 0 or rng.random() < 0.5), rng=rng, dtype=dtype))
        if i < len(widths) - 2:
            layers.append(ACTS[int(rng.integers(len(ACTS)))]())
    if softmax:
        layers.append(cr.Softmax())
    return cr.Sequential(*layers)


def run_onnx(proto, x, runtime="ort"):
    """The exported graph's output for input x, in onnxruntime or onnx's reference evaluator."""
    if runtime == "ort":
        sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, {"input": x})[0]
    return ReferenceEvaluator(proto).run(None, {"input": x})[0]


def assert_close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs ONNX {theirs.shape}"
    scale = max(1.0, float(np.max(np.abs(theirs)))) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale, err_msg=what)


def check_against_onnx(net, x, rtol, runtime="ort", **export_kw):
    """Export ``net``, check the graph, run it on x and compare with chainrule's forward (same dtype)."""
    proto = onnx_model(net, **export_kw)
    onnx.checker.check_model(proto, full_check=True)
    x = np.asarray(x, dtype=net.dtype)
    theirs = run_onnx(proto, x, runtime)
    scaling = export_kw.get("scaling")
    if scaling is not None:
        mean = np.asarray(scaling["mean"]).reshape(x.shape[1:] if np.size(scaling["mean"]) > 1 else ())
        scale = np.asarray(scaling["scale"]).reshape(mean.shape)
        x = ((x - mean) / scale).astype(net.dtype)
    ours = net.forward(x)
    assert theirs.dtype == ours.dtype, f"ONNX output dtype {theirs.dtype} vs chainrule {ours.dtype}"
    assert_close(ours, theirs, rtol, "ONNX output")
    return proto


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("seed", range(4))
def test_random_mlps_match_onnxruntime(seed, dtype, rtol):
    rng = np.random.default_rng(seed)
    net = random_mlp(rng, dtype, widths=(int(rng.integers(1, 9)), 8, 6, int(rng.integers(1, 5))), softmax=seed % 2 == 0)
    for n in (1, 7):  # the batch dimension is dynamic
        check_against_onnx(net, rng.normal(size=(n, net[0].in_features)), rtol)


def test_every_activation_and_no_bias():
    rng = np.random.default_rng(1)
    for act in [*ACTS, cr.Softmax]:
        for bias in (True, False):
            net = cr.Sequential(cr.Linear(4, 5, bias=bias, rng=rng), act())
            check_against_onnx(net, 3 * rng.normal(size=(6, 4)), 1e-10)


def test_recitation_network_exports_its_numbers():
    net = cr.Sequential(
        cr.Linear.from_folded([[0, 1, 2], [2, 1, 0], [0, 2, 0]]), cr.Tanh(), cr.Linear.from_folded([[0, 1, 2, 2]])
    )
    out = run_onnx(onnx_model(net), np.array([[1.0, 2], [0, 1], [2, 3]]))
    np.testing.assert_allclose(out[:, 0], [4.9180738718, 2.8920827402, 4.9973169739], rtol=1e-10)


def test_graph_shape_names_dtype_and_opset():
    net = random_mlp(np.random.default_rng(2), np.float32)
    proto = onnx_model(net)
    assert [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == ["N", 5]
    assert [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == ["N", 3]
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert {i.name for i in proto.graph.initializer} == set(net.state_dict())  # PyTorch's keys
    assert proto.opset_import[0].version == 17
    for name, p in net.named_parameters():  # weights copied bitwise
        init = next(i for i in proto.graph.initializer if i.name == name)
        assert np.array_equal(onnx.numpy_helper.to_array(init), p.data)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_scaling_is_the_first_step(dtype, rtol):
    rng = np.random.default_rng(3)
    net = random_mlp(rng, dtype)
    scaling = {"mean": rng.normal(size=5).tolist(), "scale": rng.uniform(0.5, 3, size=5).tolist()}
    proto = check_against_onnx(net, 10 + 3 * rng.normal(size=(4, 5)), rtol, scaling=scaling)
    assert [n.op_type for n in proto.graph.node[:2]] == ["Sub", "Div"]
    # one value for every feature also works
    check_against_onnx(net, rng.normal(size=(4, 5)), rtol, scaling={"mean": [2.0], "scale": [4.0]})


def test_training_codes_scaling_form_and_raw_example_shape():
    """chainrule train stores {"kind", "shift", "scale"} per raw feature and the example's own shape;
    the graph takes raw examples (here 2×3), scales them, then reshapes to the network's (6,)."""
    rng = np.random.default_rng(6)
    net = cr.Sequential(cr.Linear(6, 4, rng=rng), cr.Tanh(), cr.Linear(4, 2, rng=rng))
    shift, scale = rng.normal(size=6), rng.uniform(1, 2, size=6)
    proto = onnx_model(
        net, scaling={"kind": "standard", "shift": shift.tolist(), "scale": scale.tolist()}, example_shape=[2, 3]
    )
    assert [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == ["N", 2, 3]
    x = rng.normal(size=(5, 2, 3))
    want = net.forward((x.reshape(5, 6) - shift) / scale)
    assert_close(want, run_onnx(proto, x), 1e-10, "scaled and reshaped")
    proto = onnx_model(net, scaling={"kind": "none"})
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Tanh", "Gemm"]
    with pytest.raises(
        cr.ChainruleError,
        match=r"examples of shape \(2, 2\) cannot be reshaped to the "
        r"network's input shape \(6,\): they hold 4 values",
    ):
        onnx_model(net, example_shape=[2, 2])


def test_bad_scaling_and_input_shape_are_clear_errors():
    net = random_mlp(np.random.default_rng(4), np.float64)
    with pytest.raises(
        cr.ChainruleError,
        match=r"scaling mean has 3 values; for inputs of shape \(5,\) "
        r"expected 5 \(one per input value\), or 1",
    ):
        onnx_model(net, scaling={"mean": [0, 0, 0], "scale": [1]})
    with pytest.raises(cr.ChainruleError, match="scale contains 0"):
        onnx_model(net, scaling={"mean": [0], "scale": [1, 1, 0, 1, 1]})
    with pytest.raises(cr.ChainruleError, match="missing scale"):
        onnx_model(net, scaling={"mean": [0]})
    with pytest.raises(cr.ChainruleError, match=r"does not accept inputs of shape \(4,\).*0:Gemm"):
        onnx_model(net, input_shape=[4])


class Doubler(cr.Module):
    """A layer with no ONNX converter (registered by class name like every Module)."""

    def forward(self, x):
        return 2 * x


def test_unsupported_layer_names_it_and_writes_nothing(tmp_path):
    net = cr.Sequential(cr.Linear(2, 3, rng=0), cr.Sequential(cr.Tanh(), Doubler()))
    with pytest.raises(cr.ChainruleError, match=r"^layer 1\.1 \(Doubler\) has no ONNX equivalent"):
        onnx_model(net)
    out = tmp_path / "m.onnx"
    with pytest.raises(cr.ChainruleError):
        save_onnx(net, out)
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"old")  # a failed export leaves an existing file as it was
    with pytest.raises(cr.ChainruleError):
        save_onnx(net, out)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_cli_unsupported_layer_is_one_line_and_no_file(tmp_path, capsys):
    save_model(tmp_path / "m.safetensors", cr.Sequential(cr.Linear(2, 3, rng=0), Doubler()))
    assert main(["export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule export: error: layer 1 (Doubler) has no ONNX equivalent")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_cli_export_model_file_with_scaling(tmp_path, capsys):
    rng = np.random.default_rng(5)
    net = random_mlp(rng, np.float32)
    scaling = {"mean": rng.normal(size=5).tolist(), "scale": rng.uniform(1, 2, size=5).tolist()}
    save_model(tmp_path / "model.safetensors", net, extra={"scaling": scaling})
    code = main(["export", str(tmp_path / "model.safetensors"), "--onnx", str(tmp_path / "m.onnx")])
    assert code == 0
    assert "input (N, 5) -> output (N, 3), feature scaling included" in capsys.readouterr().out
    x = rng.normal(size=(3, 5)).astype(np.float32)
    theirs = run_onnx(onnx.load(tmp_path / "m.onnx"), x)
    ours = net.forward(((x - np.array(scaling["mean"])) / np.array(scaling["scale"])).astype(np.float32))
    assert_close(ours, theirs, 1e-5, "exported model with scaling")
    assert (
        main(["export", str(tmp_path / "model.safetensors"), "--onnx", str(tmp_path / "raw.onnx"), "--no-scaling"]) == 0
    )
    assert_close(net.forward(x), run_onnx(onnx.load(tmp_path / "raw.onnx"), x), 1e-5, "without scaling")


def test_cli_export_spec_and_errors(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text('loss = "cross-entropy"\n[[layers]]\nweights = [[0, 1, 2], [1, -1, 0]]\nactivation = "softmax"\n')
    assert main(["export", str(spec), "--onnx", str(tmp_path / "s.onnx")]) == 0
    out = run_onnx(onnx.load(tmp_path / "s.onnx"), np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(out.sum(), 1.0)  # the spec's softmax is part of the exported graph
    capsys.readouterr()
    assert main(["export", str(spec), "--onnx", str(tmp_path / "no" / "s.onnx")]) == 2
    assert main(["export", str(spec), "--onnx", str(tmp_path / "t.onnx"), "--input-shape", "3"]) == 2
    assert main(["export", str(spec), "--onnx", str(tmp_path / "t.onnx"), "--input-shape", "a,b"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("chainrule export: error: ") for line in err)
    assert not (tmp_path / "t.onnx").exists()
    before = spec.read_bytes()  # --onnx naming the model file itself would destroy it
    assert main(["export", str(spec), "--onnx", str(spec)]) == 2
    assert "that is the model file itself" in capsys.readouterr().err and spec.read_bytes() == before


BLOCK = "import sys; [sys.modules.__setitem__(m, None) for m in ('onnx', 'onnxruntime', 'torch')]; "


def test_core_runs_without_onnx_and_export_names_the_extra(tmp_path):
    save_model(tmp_path / "m.safetensors", cr.Sequential(cr.Linear(2, 1, rng=0)))
    code = (
        BLOCK + "import chainrule as cr, numpy as np; from chainrule.cli import main; "
        "net = cr.Sequential(cr.Linear(2, 3, rng=0), cr.Tanh()); net.backward(net(np.ones((2, 2)))); "
        f"sys.exit(main(['export', {str(tmp_path / 'm.safetensors')!r}, '--onnx', "
        f"{str(tmp_path / 'm.onnx')!r}]))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == (
        "chainrule export: error: ONNX export needs the onnx package: pip install 'chainrule[onnx]'"
    )
    assert not (tmp_path / "m.onnx").exists()


# --- convolutional networks ------------------------------------------------------------------------
CONVS = [  # (conv kwargs, input H×W): every option ONNX's Conv must reproduce
    (dict(kernel_size=3), (7, 7)),
    (dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0)), (8, 7)),
    (dict(kernel_size=3, padding="same", dilation=2), (7, 6)),
    (dict(kernel_size=(2, 4), padding="same"), (6, 7)),  # even kernels: the odd pad at the end
    (dict(kernel_size=3, stride=2, padding="same"), (7, 8)),  # 'same' with stride: pads depend on H, W
    (dict(kernel_size=(3, 1), padding="valid", groups=2, bias=False), (6, 5)),
    (dict(kernel_size=2, stride=(1, 2), dilation=(2, 1), groups=4), (8, 8)),  # depthwise
]
POOLS = [
    lambda: cr.MaxPool2d(2),
    lambda: cr.MaxPool2d((3, 2), stride=(1, 2), padding=(1, 1)),
    lambda: cr.MaxPool2d(2, stride=1, dilation=2),
    lambda: cr.AvgPool2d(2),
    lambda: cr.AvgPool2d((3, 2), stride=(2, 1), padding=(1, 0)),  # padded zeros count (count_include_pad)
]


def random_cnn(rng, dtype, conv_kw, pool, hw, classes=3):
    net = cr.Sequential(
        cr.Conv2d(4, 4, rng=rng, dtype=dtype, **conv_kw), ACTS[int(rng.integers(len(ACTS)))](), pool, cr.Flatten()
    )
    flat = net.forward(np.zeros((1, 4, *hw), dtype)).shape[1]
    return cr.Sequential(*net.layers, cr.Linear(flat, classes, rng=rng, dtype=dtype), cr.Softmax())


@pytest.mark.parametrize("case", range(len(CONVS)))
def test_random_cnns_match_onnxruntime_and_reference(case):
    conv_kw, hw = CONVS[case]
    rng = np.random.default_rng(100 + case)
    for dtype, rtol, runtime in [(np.float32, 1e-5, "ort"), (np.float64, 1e-10, "reference")]:
        pool = POOLS[case % len(POOLS)]()
        net = random_cnn(rng, dtype, conv_kw, pool, hw)
        x = rng.normal(size=(3, 4, *hw))
        proto = check_against_onnx(net, x, rtol, runtime=runtime, input_shape=[4, *hw])
        conv = proto.graph.node[0]
        assert conv.op_type == "Conv" and "auto_pad" not in [a.name for a in conv.attribute]  # explicit pads


@pytest.mark.parametrize("pool", range(len(POOLS)))
def test_every_pooling_option(pool):
    rng = np.random.default_rng(200 + pool)
    net = cr.Sequential(cr.Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float32), POOLS[pool](), cr.Tanh())
    check_against_onnx(net, rng.normal(size=(2, 2, 7, 6)), 1e-5)
    check_against_onnx(net, rng.normal(size=(2, 2, 6, 9)), 1e-5)  # H, W are symbolic without input_shape


def test_same_padding_with_stride_and_unknown_size_uses_same_upper():
    rng = np.random.default_rng(300)
    net = cr.Sequential(cr.Conv2d(1, 2, (3, 4), stride=(2, 3), padding="same", rng=rng, dtype=np.float32))
    proto = onnx_model(net)
    assert [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == ["N", 1, "H", "W"]
    for hw in [(7, 8), (8, 9), (5, 5)]:
        x = rng.normal(size=(2, 1, *hw)).astype(np.float32)
        assert_close(net.forward(x), run_onnx(proto, x), 1e-5, f"same-padded conv on {hw}")


def test_digits_cnn_with_scaling_and_row_examples(tmp_path, capsys):
    """The shape of model `chainrule train --model cnn` writes: 64 raw features per example, scaled,
    viewed as a 1×8×8 image."""
    rng = np.random.default_rng(400)
    net = cr.Sequential(
        cr.Conv2d(1, 4, 3, padding="same", rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Flatten(),
        cr.Linear(64, 10, rng=rng),
    )
    shift, scale = rng.uniform(0, 8, size=64), rng.uniform(1, 4, size=64)
    extra = {
        "input_shape": [1, 8, 8],
        "example_shape": [64],
        "scaling": {"kind": "standard", "shift": shift.tolist(), "scale": scale.tolist()},
    }
    save_model(tmp_path / "model.safetensors", net, extra=extra)
    assert (
        main(["export", str(tmp_path / "model.safetensors"), "--onnx", str(tmp_path / "m.onnx"), "--dtype", "float64"])
        == 0
    )
    assert "input (N, 64) -> output (N, 10), feature scaling included" in capsys.readouterr().out
    x = rng.uniform(0, 16, size=(5, 64))
    want = net.forward(((x - shift) / scale).reshape(5, 1, 8, 8))
    assert_close(want, run_onnx(onnx.load(tmp_path / "m.onnx"), x, "reference"), 1e-10, "digits CNN")


def test_cli_softmax_flag(tmp_path):
    net = cr.Sequential(cr.Linear(3, 4, rng=0))
    save_model(tmp_path / "m.safetensors", net)
    assert main(["export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "p.onnx"), "--softmax"]) == 0
    x = np.random.default_rng(0).normal(size=(2, 3))
    probs = run_onnx(onnx.load(tmp_path / "p.onnx"), x)
    assert_close(cr.Softmax()(net.forward(x)), probs, 1e-10, "--softmax")
    save_model(tmp_path / "s.safetensors", cr.Sequential(cr.Linear(3, 4, rng=0), cr.Softmax()))
    assert main(["export", str(tmp_path / "s.safetensors"), "--onnx", str(tmp_path / "q.onnx"), "--softmax"]) == 2


def test_cnn_from_chainrule_train_exports_with_its_scaling(tmp_path, capsys):
    """`chainrule train --model cnn` on the bundled digits, then `chainrule export`: the ONNX model takes
    the raw examples (the stored scaling and shapes are part of the graph)."""
    pytest.importorskip("chainrule.train.run", reason="`chainrule train` not in this build")
    run = tmp_path / "run"
    assert (
        main(
            ["train", "--model", "cnn", "--dtype", "float32", "--epochs", "1", "--out", str(run), "--progress", "lines"]
        )
        == 0
    )
    assert main(["export", str(run / "model.safetensors"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "feature scaling included" in capsys.readouterr().out
    net, extra = load_model(run / "model.safetensors")
    sc = extra["scaling"]
    x = np.random.default_rng(0).uniform(0, 16, size=(4, *extra["example_shape"])).astype(np.float32)
    scaled = (x.reshape(4, -1) - np.array(sc["shift"])) / np.array(sc["scale"])
    want = net.forward(scaled.reshape(4, *extra["input_shape"]).astype(np.float32))
    assert_close(want, run_onnx(onnx.load(tmp_path / "m.onnx"), x), 1e-5, "trained CNN")


def test_opset_range():
    net = cr.Sequential(cr.Linear(2, 2, rng=0), cr.Softmax())
    assert onnx_model(net, opset=13).opset_import[0].version == 13
    with pytest.raises(cr.ChainruleError, match="ONNX opset 11 is not supported; expected 13"):
        onnx_model(net, opset=11)


def test_onnx_model_agrees_with_chainrule_predict(tmp_path, capsys):
    """The exported graph takes the same raw inputs as `chainrule predict` and gives its labels."""
    pytest.importorskip("chainrule.cli.predict", reason="`chainrule predict` not in this build")
    rng = np.random.default_rng(8)
    X = rng.normal(loc=[50, -3, 1000, 0, 7], scale=[10, 1, 300, 1, 2], size=(90, 5))
    y = (X[:, 0] > 50).astype(int) + (X[:, 2] > 1000)
    csv = tmp_path / "data.csv"
    rows = [f"{label}," + ",".join(repr(float(v)) for v in row) for label, row in zip(y, X, strict=True)]
    csv.write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    assert (
        main(["train", "--train", str(csv), "--epochs", "3", "--hidden", "8", "--out", str(run), "--progress", "lines"])
        == 0
    )
    assert main(["predict", str(run / "model.safetensors"), str(csv), "--out", str(tmp_path / "p.txt")]) == 0
    assert main(["export", str(run / "model.safetensors"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    capsys.readouterr()
    labels = np.argmax(run_onnx(onnx.load(tmp_path / "m.onnx"), X), axis=1)
    assert labels.tolist() == [int(v) for v in (tmp_path / "p.txt").read_text().split()]


def test_written_file_has_the_usual_permissions(tmp_path):
    import os

    save_onnx(cr.Sequential(cr.Linear(2, 1, rng=0)), tmp_path / "m.onnx")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.onnx").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_docs_onnx_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """docs/interop.md's shell lines (train a CNN, export it) and its onnxruntime snippet, as written: the
    default export is float32 for a CNN (onnxruntime has no float64 Conv), with a note that says so."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "interop.md").read_text()
    section = text.split("## ONNX export", 1)[1]
    shell = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    code = re.search(r"Running it:\s*```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    for line in shell.splitlines():
        if line.startswith("chainrule ") and "net.toml" not in line:
            assert main(shlex.split(line.split("#")[0])[1:]) == 0, line
    out = capsys.readouterr().out
    assert "note: the model's float64 weights are converted to float32" in out and ", float32, " in out
    scope: dict = {}
    exec(code, scope)
    net, extra = load_model(tmp_path / "run" / "model.safetensors")
    sc, x = extra["scaling"], scope["X"]
    scaled = (x.reshape(5, -1) - np.array(sc["shift"])) / np.array(sc["scale"])
    want = net.forward(scaled.reshape(5, 1, 8, 8))
    assert_close(want, scope["probs_or_logits"], 1e-4, "docs' example")


def test_export_dtype_flag_keeps_or_converts(tmp_path, capsys):
    net = cr.Sequential(cr.Linear(3, 4, rng=0))
    save_model(tmp_path / "m.safetensors", net)
    assert main(["export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "a.onnx")]) == 0
    out = capsys.readouterr().out
    assert "note:" not in out and ", float64, " in out  # an MLP runs in onnxruntime as it is
    assert (
        main(["export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "b.onnx"), "--dtype", "float32"]) == 0
    )
    assert "converted to float32 for the graph\n" in capsys.readouterr().out
    x = np.random.default_rng(0).normal(size=(2, 3))
    assert_close(net.forward(x), run_onnx(onnx.load(tmp_path / "b.onnx"), x.astype(np.float32)), 1e-5, "f32")
