"""Issue 12's hostile newcomer: bad input tried through ``chainrule`` in-process (one line, exit 2, the
thing given named), and good input doing what a PyTorch user expects."""

import numpy as np
import pytest

from chainrule.cli import main


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err
    return err


@pytest.mark.parametrize("command", ["train", "explain", "exercise", "draw"])
def test_an_unknown_flag_is_named_by_its_subcommand(capsys, command):
    with pytest.raises(SystemExit) as stop:
        main([command, "examples/recitation-3.1.toml", "--bogus"] if command == "draw" else [command, "--bogus"])
    assert stop.value.code == 2
    err = _one_error_line(capsys)
    assert err == f"chainrule {command}: error: unrecognized arguments: --bogus (see 'chainrule {command} --help')\n"


def test_exercise_variants_have_a_cap(capsys, tmp_path):
    assert main(["exercise", "--variants", "1000000000", "-o", str(tmp_path / "ex")]) == 2
    assert _one_error_line(capsys) == "chainrule exercise: error: --variants 1000000000: must be between 1 and 1000\n"
    assert not (tmp_path / "ex").exists()


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("reg")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = 50 + 20 * X[:, 0] - 7 * X[:, 1]
    np.savetxt(d / "r.csv", np.column_stack([y, X]), delimiter=",")
    args = ["train", "--train", str(d / "r.csv"), "--task", "regression", "--epochs", "2", "--progress", "lines"]
    assert main([*args, "--out", str(d / "run")]) == 0
    return d / "run" / "model.safetensors", d / "r.csv"


def test_to_torch_with_extra_predicts_as_chainrule_predict(capsys, regression_model, tmp_path):
    """The PyTorch twin of a regression model file, given its metadata, takes raw inputs and outputs the
    targets' units (the stored feature scaling first, the target standardisation undone last)."""
    import torch
    from oracle import RTOL_NETWORK, assert_close
    from safetensors.torch import load_file

    from chainrule.interop.torch import to_torch
    from chainrule.serialize import load_model

    model_path, data = regression_model
    capsys.readouterr()
    assert main(["predict", str(model_path), str(data), "--out", str(tmp_path / "p.txt")]) == 0
    ours = np.loadtxt(tmp_path / "p.txt")
    net, extra = load_model(model_path)
    assert extra["target_scaling"]["kind"] == "standard"
    twin = to_torch(net, extra=extra)
    raw = torch.from_numpy(np.loadtxt(data, delimiter=",")[:, 1:])
    assert_close(twin(raw).detach().numpy().ravel(), ours, RTOL_NETWORK, "twin vs chainrule predict")
    assert list(twin.state_dict()) == list(to_torch(net).state_dict())  # the scalings are not weights
    twin.load_state_dict(load_file(model_path))  # strict: the model file's keys, as they are
    assert not np.allclose(to_torch(net)(raw).detach().numpy().ravel(), ours)  # without extra: the bare network
