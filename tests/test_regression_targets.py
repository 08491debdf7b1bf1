"""Issue 9: regression targets standardised by default (stored in the model file, undone by predict,
evaluate and the ONNX graph), and reported as MSE, RMSE and MAE in the targets' units."""

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.serialize import load_model, save_model


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """scikit-learn's diabetes data (bundled with it, no download) as a label-first CSV with a header."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.csv"
    np.savetxt(path, np.column_stack([d.target, d.data]), delimiter=",", header="y," + ",".join(d.feature_names))
    return path, d.data, d.target


@pytest.fixture(scope="module")
def trained(diabetes):
    path, _, _ = diabetes
    out = path.parent / "run"
    assert main(["train", "--train", str(path), "--task", "regression", "--out", str(out), "--progress", "lines"]) == 0
    return out


def test_diabetes_trains_to_a_sensible_mse_with_the_defaults(capsys, diabetes, trained):
    path, _, y = diabetes
    epochs = json.loads((trained / "metrics.json").read_text())["epochs"]
    last = epochs[-1]
    assert np.isfinite(last["val_error"]) and last["val_error"] < 0.8 * y.var()  # var 5,930: predicting the mean
    assert last["val_rmse"] == pytest.approx(np.sqrt(last["val_error"]))
    assert 0 < last["val_mae"] < last["val_rmse"]
    code, out, _ = cli(capsys, "predict", trained / "model.safetensors", path)
    pred = np.array([float(v) for v in out.split()])
    assert code == 0 and len(pred) == len(y)
    assert y.min() - 0.1 * np.ptp(y) < pred.min() and pred.max() < y.max() + 0.1 * np.ptp(y)
    assert abs(pred.mean() - y.mean()) < 0.1 * y.std()


def test_the_stored_target_scaling_is_the_training_targets(trained):
    _, extra = load_model(trained / "model.safetensors")
    t = extra["target_scaling"]
    assert t["kind"] == "standard" and len(t["shift"]) == len(t["scale"]) == 1
    assert 100 < t["shift"][0] < 200 and 50 < t["scale"][0] < 100  # the diabetes targets' mean and std


def test_evaluate_reports_mse_rmse_mae_in_the_targets_units(capsys, diabetes, trained):
    path, _, y = diabetes
    code, out, _ = cli(capsys, "predict", trained / "model.safetensors", path)
    pred = np.array([float(v) for v in out.split()])
    code, out, _ = cli(capsys, "evaluate", trained / "model.safetensors", path, "--format", "json")
    r = json.loads(out)
    assert code == 0
    np.testing.assert_allclose(r["mse"], np.mean((pred - y) ** 2), rtol=1e-10)
    np.testing.assert_allclose(r["mae"], np.mean(np.abs(pred - y)), rtol=1e-10)
    assert r["rmse"] == pytest.approx(np.sqrt(r["mse"]))
    code, out, _ = cli(capsys, "evaluate", trained / "model.safetensors", path)
    assert "(MSE)" in out and "(RMSE)" in out and "(MAE)" in out


def test_the_onnx_graph_undoes_the_target_scaling(capsys, tmp_path, diabetes, trained):
    ort = pytest.importorskip("onnxruntime")
    path, X, _ = diabetes
    code, out, _ = cli(capsys, "predict", trained / "model.safetensors", path)
    pred = np.array([float(v) for v in out.split()])
    onnx_path = tmp_path / "m.onnx"
    code, out, _ = cli(capsys, "export", trained / "model.safetensors", "--onnx", onnx_path)
    assert code == 0 and "target scaling undone" in out
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": X.astype(np.float64)})[0][:, 0]
    np.testing.assert_allclose(got, pred, rtol=1e-5, atol=1e-5)  # two libraries: a stated tolerance


def test_a_model_file_without_stored_target_scaling_predicts_its_raw_outputs(capsys, tmp_path, diabetes, trained):
    """Files written before targets were standardised hold no target_scaling: their outputs are used as they are."""
    from chainrule.train.metrics import predict_outputs
    from chainrule.train.use import load_for_model, load_trained, predict

    path, _, _ = diabetes
    net, extra = load_model(trained / "model.safetensors")
    del extra["target_scaling"]
    old = tmp_path / "old.safetensors"
    save_model(old, net, extra)
    code, out, _ = cli(capsys, "predict", old, path)
    net, extra = load_trained(old)
    ds = load_for_model(extra, path, None, need_labels=False)
    raw = predict_outputs(net, ds.X)[:, 0]
    assert code == 0
    np.testing.assert_array_equal([float(v) for v in out.split()], raw)  # chainrule against itself
    np.testing.assert_array_equal(predict(net, extra, ds.X), predict_outputs(net, ds.X))
    assert cli(capsys, "evaluate", old, path)[0] == 0


def test_no_target_scaling_trains_on_the_targets_as_given(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [0.5, -0.25] + 0.1
    data = tmp_path / "r.csv"
    np.savetxt(data, np.column_stack([y, X]), delimiter=",")
    out = tmp_path / "o"
    args = ["train", "--train", data, "--task", "regression", "--epochs", "2", "--progress", "lines"]
    assert cli(capsys, *args, "--no-target-scaling", "--out", out)[0] == 0
    _, extra = load_model(out / "model.safetensors")
    assert extra["target_scaling"] == {"kind": "none"}


def test_resume_of_a_checkpoint_saved_before_target_scaling(capsys, tmp_path):
    """A checkpoint whose settings and metadata lack the target scaling resumes without one."""
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    data = tmp_path / "r.csv"
    np.savetxt(data, np.column_stack([100 + X @ [3.0, 1.0], X]), delimiter=",")
    out = tmp_path / "o"
    args = ["train", "--train", data, "--task", "regression", "--epochs", "1", "--out", out, "--progress", "lines"]
    assert cli(capsys, *args, "--no-target-scaling")[0] == 0
    ck = load_checkpoint(out)
    del ck.extra["target_scaling"], ck.settings["target_scaling"]
    save_checkpoint(out, ck)
    assert cli(capsys, "train", "--resume", out, "--epochs", "2", "--progress", "lines")[0] == 0
    _, extra = load_model(out / "model.safetensors")
    assert "target_scaling" not in extra
