"""chainrule predict --proba (class probabilities) and chainrule evaluate's per-class metrics and JSON."""

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.train.metrics import class_report

ROWS = 30  # 3 classes × 10 examples of 4 features: trains in a few milliseconds


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(labelled CSV, the same features without the label column, the raw features (n, 4))."""
    g = np.random.default_rng(0)
    y = np.arange(ROWS) % 3
    X = g.normal(size=(ROWS, 4)) + y[:, None] * [1.0, -1.0, 0.5, 0.0]
    d = tmp_path_factory.mktemp("data")
    (d / "tiny.csv").write_text(
        "".join(f"{t}," + ",".join(map(repr, row)) + "\n" for t, row in zip(y, X.tolist(), strict=True))
    )
    (d / "x.csv").write_text("".join(",".join(map(repr, row)) + "\n" for row in X.tolist()))
    return d / "tiny.csv", d / "x.csv", X


@pytest.fixture(scope="module")
def model(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("run") / "out"
    assert (
        main(
            [
                "train",
                "--train",
                str(data[0]),
                "--hidden",
                "4",
                "--epochs",
                "2",
                "--progress",
                "lines",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out / "model.safetensors"


def test_proba_rows_sum_to_one_and_agree_with_labels(capsys, model, data):
    code, out, err = cli(capsys, "predict", model, data[1], "--proba")
    assert code == 0, err
    p = np.array([[float(v) for v in line.split(",")] for line in out.splitlines()])
    assert p.shape == (ROWS, 3) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    labels = [int(v) for v in cli(capsys, "predict", model, data[1])[1].split()]
    assert np.argmax(p, axis=1).tolist() == labels


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-10)])
def test_proba_equals_the_softmax_of_the_exported_onnx_graph(capsys, tmp_path, model, data, dtype, tol):
    ort = pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "m.onnx"
    code, _, err = cli(capsys, "export", model, "--onnx", onnx_path, "--softmax", "--dtype", dtype)
    assert code == 0, err
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {"input": data[2].astype(dtype)})[0]  # raw features: the graph scales them
    ours = np.array(
        [
            [float(v) for v in line.split(",")]
            for line in cli(capsys, "predict", model, data[1], "--proba")[1].splitlines()
        ]
    )
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def test_proba_refused_for_a_regression_model(capsys, tmp_path, data):
    out = tmp_path / "r"
    assert (
        cli(
            capsys,
            "train",
            "--train",
            data[0],
            "--task",
            "regression",
            "--hidden",
            "none",
            "--epochs",
            "1",
            "--progress",
            "lines",
            "--out",
            out,
        )[0]
        == 0
    )
    code, stdout, err = cli(capsys, "predict", out / "model.safetensors", data[1], "--proba")
    assert code == 2 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and "regression" in err and "--proba" in err
    assert str(out / "model.safetensors") in err


def test_class_report_by_hand():
    # rows true, columns predicted; class 2 is never predicted and never true → 0/0 → 0 (scikit-learn's default)
    m = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    r = class_report(m)
    # class 0: precision 3/(3+2) = 0.6, recall 3/(3+1) = 0.75, F1 = 2·0.6·0.75/1.35 = 2/3
    # class 1: precision 4/(1+4) = 0.8, recall 4/(2+4) = 2/3, F1 = 2·0.8·(2/3)/(0.8+2/3) = 8/11
    want = [(0.6, 0.75, 2 / 3, 4), (0.8, 2 / 3, 8 / 11, 6), (0.0, 0.0, 0.0, 0)]
    for got, (p, rec, f1, n) in zip(r, want, strict=True):
        assert got["precision"] == pytest.approx(p, rel=1e-15)
        assert got["recall"] == pytest.approx(rec, rel=1e-15)
        assert got["f1"] == pytest.approx(f1, rel=1e-15)
        assert got["support"] == n


def test_evaluate_text_and_json(capsys, model, data):
    code, text, err = cli(capsys, "evaluate", model, data[0])
    assert code == 0, err
    assert "accuracy: " in text and "precision" in text and "recall" in text and "macro avg" in text
    loss_line = next(line for line in text.splitlines() if line.startswith("loss (cross-entropy): "))
    assert len(loss_line.split(": ")[1]) <= 7  # rounded: 4 significant digits
    code, out, err = cli(capsys, "evaluate", model, data[0], "--format", "json")
    assert code == 0, err
    r = json.loads(out)
    assert r["examples"] == ROWS and r["task"] == "classification" and r["loss_function"] == "cross-entropy"
    m = np.array(r["confusion_matrix"])
    assert m.shape == (3, 3) and m.sum() == ROWS
    assert r["accuracy"] == pytest.approx(np.trace(m) / ROWS) and r["error"] == pytest.approx(1 - r["accuracy"])
    assert r["classes"] == class_report(m) and [c["support"] for c in r["classes"]] == [10, 10, 10]
    assert f"{r['loss']:.4g}" == loss_line.split(": ")[1]
    # the predictions behind the confusion matrix are predict's
    labels = [int(v) for v in cli(capsys, "predict", model, data[1])[1].split()]
    assert np.trace(m) == sum(int(t == p) for t, p in zip(np.arange(ROWS) % 3, labels, strict=True))
