"""Model files whose weights are not finite floating-point numbers are refused by every command that
reads them (issue 9, item 7): one line naming the file and the tensor, exit status 2."""

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data.digits import load_digits
from chainrule.serialize import FORMAT, read_safetensors, write_safetensors


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny trained model and five examples of its data (label first)."""
    root = tmp_path_factory.mktemp("checks")
    assert main(["train", "--hidden", "4", "--epochs", "1", "--progress", "lines", "--out", str(root / "run")]) == 0
    d = load_digits()
    np.savetxt(
        root / "d.csv",
        np.column_stack([d.y[:5], d.X.reshape(len(d), -1)[:5]]),
        delimiter=",",
        fmt="%g",
        header="label," + ",".join(f"p{i}" for i in range(64)),
        comments="",
    )
    return root


def damaged(run, tmp_path, key, value):
    """A copy of the trained model with tensor ``key`` replaced by ``value`` (all else unchanged)."""
    tensors, meta = read_safetensors(run / "run" / "model.safetensors", "a model file")
    tensors[key] = value(tensors[key])
    path = tmp_path / "bad.safetensors"
    write_safetensors(path, tensors, FORMAT, json.loads(meta[FORMAT]))
    return path


def poke(x, v):
    x = x.copy()
    x.flat[3] = v
    return x


COMMANDS = {
    "predict": lambda m, run, tmp: ["predict", m, run / "d.csv"],
    "evaluate": lambda m, run, tmp: ["evaluate", m, run / "d.csv"],
    "export": lambda m, run, tmp: ["export", m, "--onnx", tmp / "m.onnx"],
}
VALUES = {
    "NaN": (lambda x: poke(x, np.nan), "holds NaN (1 of "),
    "+inf": (lambda x: poke(x, np.inf), "holds +inf (1 of "),
    "-inf": (lambda x: poke(x, -np.inf), "holds -inf (1 of "),
    "int": (lambda x: np.round(x).astype(np.int64), "has dtype int64; weights must be floating point"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", VALUES)
def test_non_finite_or_integer_weights_are_refused(capsys, run, tmp_path, command, kind):
    make, words = VALUES[kind]
    key = "2.weight" if kind != "int" else "0.bias"
    bad = damaged(run, tmp_path, key, make)
    assert main([str(a) for a in COMMANDS[command](bad, run, tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"chainrule {command}: error: {bad}: tensor '{key}' {words}"), err
    assert err.count("\n") == 1 and out == ""
    assert not (tmp_path / "m.onnx").exists()


def test_the_undamaged_model_still_works(capsys, run, tmp_path):
    good = damaged(run, tmp_path, "2.weight", lambda x: x)
    for command, args in COMMANDS.items():
        assert main([str(a) for a in args(good, run, tmp_path)]) == 0, command
    capsys.readouterr()


def test_explain_refuses_a_model_file_and_a_spec_with_nan(capsys, run, tmp_path):
    """explain reads network specs, not model files; a spec's NaN is refused by its key."""
    assert main(["explain", str(run / "run" / "model.safetensors")]) == 2
    assert "model.safetensors: not a text (TOML) file" in capsys.readouterr().err
    spec = tmp_path / "nan.toml"
    spec.write_text(
        'x = [1, 2]\ny = 3\nloss = "squared"\n[[layers]]\nweights = [[0, nan, 2]]\nactivation = "identity"\n'
    )
    assert main(["explain", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nan.toml" in err and "NaN or infinity" in err
