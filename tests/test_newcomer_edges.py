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


@pytest.mark.parametrize(
    "layer, key",
    [('type = "maxpool2d"', "kernel_size"), ('type = "conv2d"\nkernel_size = 3', "out_channels")],
)
def test_a_missing_layer_argument_is_named_as_its_key(capsys, tmp_path, layer, key):
    spec = tmp_path / "net.toml"
    spec.write_text(f"input = [1, 4, 4]\n[[layers]]\n{layer}\n")
    assert main(["summary", str(spec)]) == 2
    assert f"[[layers]] #1, key '{key}': missing: " in _one_error_line(capsys)


@pytest.mark.parametrize("kind, name", [("logsoftmax", "LogSoftmax"), ("softmax", "Softmax")])
def test_softmax_dim_out_of_range_is_refused_by_the_spec(capsys, tmp_path, kind, name):
    spec = tmp_path / "net.toml"
    spec.write_text(f'input = 4\n[[layers]]\nunits = 3\n[[layers]]\ntype = "{kind}"\ndim = 7\n')
    assert main(["summary", str(spec)]) == 2
    assert f"[[layers]] #2: {name}: dim 7 is out of range for an input of shape (N, 3)" in _one_error_line(capsys)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    d = tmp_path_factory.mktemp("cls")
    X = np.random.default_rng(1).normal(size=(30, 4))
    np.savetxt(d / "c.csv", np.column_stack([np.arange(30) % 3, X]), delimiter=",")
    assert (
        main(["train", "--train", str(d / "c.csv"), "--epochs", "1", "--progress", "lines", "--out", str(d / "r")]) == 0
    )
    return d / "r" / "model.safetensors"


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--opset", "0"], "ONNX opset 0 is not supported"),
        (["--input-shape", "2,2"], "--input-shape 2,2: input to Linear(4→128) has shape 2×2 per example"),
    ],
)
def test_export_flags_out_of_range_are_named(capsys, classifier, tmp_path, flags, words):
    assert main(["export", str(classifier), "--onnx", str(tmp_path / "m.onnx"), *flags]) == 2
    assert words in _one_error_line(capsys)
    assert not (tmp_path / "m.onnx").exists()


def test_export_softmax_of_a_regression_model_is_refused(capsys, regression_model, tmp_path):
    assert main(["export", str(regression_model[0]), "--onnx", str(tmp_path / "m.onnx"), "--softmax"]) == 2
    assert "--softmax gives class probabilities, but this is a regression model" in _one_error_line(capsys)


CONV = ["conv", "-x", "[[1,2,3],[4,5,6],[7,8,9]]", "-k", "[[1,0],[0,1]]"]


def test_conv_png_to_a_folder_or_an_empty_name_is_refused(capsys, tmp_path):
    assert main([*CONV, "--png", str(tmp_path)]) == 2
    assert f"--png {tmp_path}: is a folder; give a file name" in _one_error_line(capsys)
    assert main([*CONV, "--png", ""]) == 2
    assert "--png '': an empty file name" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []  # nothing written beside it (matplotlib added .png to the name)


@pytest.mark.parametrize("kind", ["empty", "folder"])
def test_conv_kernel_file_empty_or_a_folder_is_one_line(capsys, tmp_path, kind):
    path = tmp_path / "k.csv"
    path.mkdir() if kind == "folder" else path.write_text("")
    assert main([*CONV[:3], "-k", str(path)]) == 2
    words = "the file is empty" if kind == "empty" else "is a folder, not a csv file"
    assert f"--kernel {path}: {words}" in _one_error_line(capsys)


def test_a_csv_with_quoted_cells_trains(capsys, tmp_path):
    rows = [f'"{i % 2}","{i}","{i * i % 7}"' for i in range(10)]
    (tmp_path / "q.csv").write_text('"label","a,b","c"\n' + "\n".join(rows) + "\n")
    assert main(["train", "--train", str(tmp_path / "q.csv"), "--epochs", "1", "--progress", "lines"]) == 0
    assert "8 training / 2 validation examples" in capsys.readouterr().out


def test_a_file_that_is_no_zip_is_not_called_pickled(capsys, tmp_path):
    (tmp_path / "d.npz").write_text("not a zip")
    assert main(["train", "--train", str(tmp_path / "d.npz")]) == 2
    err = _one_error_line(capsys)
    assert "not a .npz file (not a zip archive of NumPy arrays)" in err and "pickle" not in err


@pytest.mark.parametrize("command", ["predict", "evaluate", "summary"])
def test_a_run_folder_or_its_checkpoint_given_as_the_model_says_which_file(capsys, classifier, command):
    run = classifier.parent
    data = [] if command == "summary" else [str(run.parent / "c.csv")]
    assert main([command, str(run), *data]) == 2
    assert f"{run}: is a run folder, not a model file; give {run / 'model.safetensors'}" in _one_error_line(capsys)
    assert main([command, str(run / "checkpoint.safetensors"), *data]) == 2
    assert "a training checkpoint (for --resume), not a model file" in _one_error_line(capsys)


@pytest.mark.parametrize("flag, value", [("--cell", "1,1"), ("--filter", "1"), ("--channel", "1")])
def test_conv_png_choices_without_png_are_refused(capsys, flag, value):
    assert main([*CONV, flag, value]) == 2
    assert f"{flag} goes with --png" in _one_error_line(capsys)


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_labels_file_with_csv_data_is_refused_not_ignored(capsys, classifier, command):
    data = str(classifier.parent.parent / "c.csv")
    assert main([command, str(classifier), data, "--labels", data]) == 2
    assert "a separate labels file only goes with IDX images, not this format" in _one_error_line(capsys)
