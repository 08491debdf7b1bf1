"""Issue 9's rough edges, tried as a new user would: through ``chainrule`` in-process, checking the
one-line message, the exit status and the files."""

import json

import pytest

from chainrule.cli import main


def test_train_without_out_says_the_model_was_not_saved(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1", "--progress", "lines"]) == 0
    out = capsys.readouterr().out
    assert "the model was not saved (no --out); add --out DIR to save it" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--out", "--resume"])
def test_empty_out_is_refused(capsys, tmp_path, monkeypatch, flag):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1", flag, ""]) == 2
    err = capsys.readouterr().err
    assert err == f"chainrule train: error: {flag} '': an empty folder name; give a folder, or leave {flag} out\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("preset, params", [("mlp", "9,610"), ("cnn", "")])
def test_summary_accepts_preset_names(capsys, preset, params):
    assert main(["summary", preset]) == 0
    out = capsys.readouterr().out
    assert "total parameters: " + params in out
    assert main(["summary", preset, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)


def test_summary_of_an_unknown_name_lists_the_presets(capsys):
    assert main(["summary", "resnet"]) == 2
    err = capsys.readouterr().err
    assert "resnet: expected a model file (.safetensors), a network spec (.toml) or a preset (mlp, cnn)" in err
    assert err.count("\n") == 1


def test_regression_names_its_metric_mse(capsys, tmp_path):
    """A regression run prints MSE, not 'error' (which reads as a misclassified fraction)."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = 25 + 300 * rng.uniform(size=60)
    path = tmp_path / "r.csv"
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", header="y,a,b,c", comments="")
    assert main(["train", "--train", str(path), "--task", "regression", "--epochs", "1", "--progress", "lines"]) == 0
    out = capsys.readouterr().out
    assert " MSE " in out and " error " not in out.split("training ", 1)[1]
