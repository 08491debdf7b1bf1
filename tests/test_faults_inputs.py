"""Issue 9, item 7: damaged inputs that are the user's, not chainrule's — a symbolic-link loop, a damaged
checkpoint, a stored scale of 0, values too large to compute with, data that changed under --resume —
are each one line naming the file (and what is wrong), exit status 2, never "internal error"."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.serialize import FORMAT, read_safetensors, write_safetensors
from chainrule.train.checkpoint import FORMAT as CKPT
from chainrule.train.checkpoint import NAME

RUN = ["--hidden", "4", "--epochs", "1", "--progress", "lines"]


def csv(path: Path, features: int, n: int = 40, task: str = "classification") -> Path:
    rng = np.random.default_rng(features)
    y = np.arange(n) % 3 if task == "classification" else rng.normal(size=n)
    np.savetxt(path, np.column_stack([y, rng.normal(size=(n, features))]), delimiter=",", fmt="%.6g")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A one-epoch run on a 4-feature CSV (40 examples, 3 classes)."""
    root = tmp_path_factory.mktemp("inputs")
    data = csv(root / "train.csv", 4)
    assert main(["train", "--train", str(data), *RUN, "--out", str(root / "run")]) == 0
    return root


@pytest.fixture
def run(base, tmp_path, capsys):
    """A copy of the base run and its data in tmp_path; returns the run folder."""
    shutil.copy(base / "train.csv", tmp_path / "train.csv")
    shutil.copytree(base / "run", tmp_path / "run")
    # the copied checkpoint names the base's data file: point it at the copy
    edit_checkpoint(tmp_path / "run", meta=lambda m: m["settings"].update(train=str(tmp_path / "train.csv")))
    capsys.readouterr()
    return tmp_path / "run"


def edit_checkpoint(run: Path, tensors=None, meta=None) -> None:
    """Rewrite the checkpoint in ``run`` after ``tensors(dict)`` / ``meta(dict)`` changed it in place."""
    t, m = read_safetensors(run / NAME, "a checkpoint")
    header = json.loads(m[CKPT])
    if tensors:
        tensors(t)
    if meta:
        meta(header)
    write_safetensors(run / NAME, t, CKPT, header)


def one_line(capsys, command: str = "train") -> str:
    out, err = capsys.readouterr()
    assert err.startswith(f"chainrule {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return err


def resume(run: Path) -> int:
    return main(["train", "--resume", str(run), "--epochs", "2", "--progress", "lines"])


def test_a_symlink_loop_as_data_is_named(capsys, base, tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    loop = tmp_path / "a.csv"
    assert main(["train", "--train", str(loop), *RUN]) == 2
    assert (
        one_line(capsys)
        == f"chainrule train: error: {loop}: a loop of symbolic links (each link leads back to another)\n"
    )
    assert main(["predict", str(base / "run" / "model.safetensors"), str(loop)]) == 2
    assert f"{loop}: a loop of symbolic links" in one_line(capsys, "predict")
    outputs = [str(tmp_path / n) for n in ("a.labels", "b.labels", "m.txt")]
    assert main(["neuralnet", str(loop), str(base / "train.csv"), *outputs, "1", "2", "1", "0.1"]) == 2
    assert f"{loop}: cannot read: a loop of symbolic links" in one_line(capsys, "neuralnet")


def test_a_dangling_symlink_names_its_target(capsys, tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "gone.csv")
    assert main(["train", "--train", str(tmp_path / "a.csv"), *RUN]) == 2
    assert f"a symbolic link to {tmp_path / 'gone.csv'}, which does not exist" in one_line(capsys)


def test_a_link_keeps_its_name_for_the_format(capsys, base, tmp_path):
    """--train data.csv, a link to a blob without an extension (a content-addressed store), is a CSV."""
    shutil.copy(base / "train.csv", tmp_path / "blob")
    (tmp_path / "data.csv").symlink_to(tmp_path / "blob")
    assert main(["train", "--train", str(tmp_path / "data.csv"), *RUN]) == 0
    capsys.readouterr()


def drop(key):
    return lambda t: t.pop(key)


def reshape(key):
    return lambda t: t.update({key: t[key][:1]})


def poke(key, value):
    def change(t):
        t[key] = t[key].copy()
        t[key].flat[0] = value

    return change


OPTIMISER = {
    "missing": (drop("optim.velocity.0"), "the optimiser state lacks velocity.0 (SGD keeps steps, velocity.0"),
    "mis-shaped": (
        reshape("optim.velocity.2"),
        "optimiser state 'velocity.2' has shape (1, 4); its parameter has shape (3, 4)",
    ),
    "NaN": (poke("optim.velocity.1", np.nan), "optimiser state 'velocity.1' holds NaN or infinity"),
    "steps": (lambda t: t.update({"optim.steps": np.array(-3)}), "optimiser state 'steps' is -3 (int64)"),
}


@pytest.mark.parametrize("case", OPTIMISER)
def test_damaged_optimiser_state_is_named(capsys, run, case):
    change, words = OPTIMISER[case]
    edit_checkpoint(run, tensors=change)
    assert resume(run) == 2
    err = one_line(capsys)
    assert err.startswith(f"chainrule train: error: {run / NAME}: {words}"), err
    assert err.endswith("the checkpoint is damaged; start again with --out DIR --overwrite\n")


def set_state(value):
    return lambda m: m["rng_state"].update(state=value)


GENERATOR = {
    "missing": (lambda m: m.pop("rng_state"), "holds no generator state (rng_state), so the epoch's order is lost"),
    "mis-shaped": (set_state([1, 2]), "the generator state (rng_state) is damaged ("),
    "damaged": (lambda m: m["rng_state"].update(bit_generator="PCG65"), "the generator state (rng_state) is damaged ("),
    "not a dict": (lambda m: m.update(rng_state="x"), "the generator state (rng_state) is damaged ("),
}


@pytest.mark.parametrize("case", GENERATOR)
def test_damaged_generator_state_is_named(capsys, run, case):
    change, words = GENERATOR[case]
    edit_checkpoint(run, meta=change)
    assert resume(run) == 2
    assert one_line(capsys).startswith(f"chainrule train: error: {run / NAME}: {words}")


@pytest.mark.parametrize("step", [-1, 2, 999])
def test_a_checkpoint_step_past_the_epochs_end_is_refused(capsys, run, step):
    """32 training examples (40 less the 20% validation split), batch 32: one step per epoch."""
    edit_checkpoint(run, meta=lambda m: m.update(step=step))
    assert resume(run) == 2
    err = one_line(capsys)
    assert err.startswith(
        f"chainrule train: error: {run / NAME}: position epoch 2, step {step} is outside a run "
        "(an epoch has 1 steps: 32 examples in batches of 32)"
    )


def test_resume_after_the_data_gained_a_column_names_both_files(capsys, run):
    data = csv(run.parent / "train.csv", 5)
    assert resume(run) == 2
    assert one_line(capsys) == (
        f"chainrule train: error: checkpoint {run / NAME} was trained on 4 features; {data} has 5 features "
        "(the file changed since the run began: restore it, or start a new run)\n"
    )


def test_resume_after_the_data_gained_examples_names_both_files(capsys, run):
    data = csv(run.parent / "train.csv", 4, n=60)
    assert resume(run) == 2
    assert one_line(capsys).startswith(
        f"chainrule train: error: checkpoint {run / NAME} was trained on 32 training examples; {data} now gives 48 "
    )


def test_resume_after_the_data_gained_a_class_names_both_files(capsys, run):
    data = run.parent / "train.csv"
    rows = np.loadtxt(data, delimiter=",")
    rows[0, 0] = 3
    np.savetxt(data, rows, delimiter=",", fmt="%.6g")
    assert resume(run) == 2
    assert one_line(capsys).startswith(
        f"chainrule train: error: checkpoint {run / NAME} was trained with 3 classes; {data} now needs 4"
    )


def test_the_undamaged_checkpoint_resumes(capsys, run):
    assert resume(run) == 0
    capsys.readouterr()


@pytest.mark.filterwarnings("error")  # a NumPy overflow warning would fail the test
@pytest.mark.parametrize("task, column", [("classification", 3), ("regression", 1)])
def test_huge_values_in_data_name_the_column(capsys, tmp_path, task, column):
    data = csv(tmp_path / "d.csv", 4, task=task)
    rows = np.loadtxt(data, delimiter=",")
    rows[5, column - 1] = -1e308
    np.savetxt(data, rows, delimiter=",", fmt="%.17g")
    assert main(["train", "--train", str(data), "--task", task, *RUN]) == 2
    err = one_line(capsys)
    where = "column 3" if task == "classification" else "target 1"
    assert err.startswith(f"chainrule train: error: {data}: line 6, {where}: -1e+308 is too large to compute with; ")
    assert "network" not in err and "diverged" not in err


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("value, words", [(0.0, "is 0.0; a scale must be a finite number > 0"), (np.nan, "is nan")])
def test_a_stored_scale_of_zero_names_the_model_file(capsys, base, tmp_path, value, words):
    tensors, meta = read_safetensors(base / "run" / "model.safetensors", "a model file")
    header = json.loads(meta[FORMAT])
    header["extra"]["scaling"]["scale"][2] = value
    bad = tmp_path / "m.safetensors"
    write_safetensors(bad, tensors, FORMAT, header)
    for command in ("predict", "evaluate"):
        assert main([command, str(bad), str(base / "train.csv")]) == 2
        err = one_line(capsys, command)
        assert err.startswith(f"chainrule {command}: error: {bad}: the stored feature scaling is damaged: ")
        assert f"its scale of feature 3 {words}" in err


def test_a_stored_scale_of_zero_in_a_checkpoint_names_it(capsys, run):
    edit_checkpoint(run, meta=lambda m: m["extra"]["scaling"]["scale"].__setitem__(0, 0))
    assert resume(run) == 2
    assert one_line(capsys).startswith(f"chainrule train: error: {run / NAME}: the stored feature scaling is damaged: ")


@pytest.fixture(scope="module")
def dropout_run(base):
    """A one-epoch run of a spec with Dropout, a step scheduler and early stopping (all their state saved)."""
    spec = base / "drop.toml"
    spec.write_text(
        '[[layers]]\ntype = "linear"\nunits = 4\nactivation = "relu"\n'
        '[[layers]]\ntype = "dropout"\np = 0.5\n[[layers]]\ntype = "linear"\nunits = 3\n'
    )
    out = base / "dropout-run"
    flags = ["--model", str(spec), "--scheduler", "step", "--step-size", "1", "--early-stop", "2"]
    assert main(["train", "--train", str(base / "train.csv"), *flags, *RUN[2:], "--out", str(out)]) == 0
    return out


LAYER_STATE = {
    "generators missing": (lambda m: m["generators"].clear(), "holds no generator state for random layer(s) 2 ("),
    "generator damaged": (
        lambda m: m["generators"]["2"].update(state=[1]),
        "the random layers' generator state is damaged (",
    ),
    "generators not a table": (lambda m: m.update(generators=[1]), "the random layers' generator states are damaged"),
    "scheduler": (lambda m: m["scheduler"].pop("last_epoch"), "the learning-rate scheduler state is damaged ("),
    "early stopping": (lambda m: m.update(early_stop="x"), "the early-stopping state is damaged ("),
}


@pytest.mark.parametrize("case", LAYER_STATE)
def test_damaged_layer_scheduler_or_early_stop_state_is_named(capsys, dropout_run, tmp_path, case):
    run = tmp_path / "run"
    shutil.copytree(dropout_run, run)
    capsys.readouterr()
    change, words = LAYER_STATE[case]
    edit_checkpoint(run, meta=change)
    assert resume(run) == 2
    err = one_line(capsys)
    assert err.startswith(f"chainrule train: error: {run / NAME}: {words}"), err


def regression_model_with_scale(tmp_path: Path, key: str) -> tuple[Path, Path]:
    """(model file, data): a regression run's model whose stored ``key`` scaling has a scale of 0."""
    data = csv(tmp_path / "r.csv", 3, task="regression")
    assert main(["train", "--train", str(data), "--task", "regression", *RUN, "--out", str(tmp_path / "run")]) == 0
    model = tmp_path / "run" / "model.safetensors"
    tensors, meta = read_safetensors(model, "a model file")
    header = json.loads(meta[FORMAT])
    header["extra"][key]["scale"][0] = 0.0
    write_safetensors(model, tensors, FORMAT, header)
    return model, data


def test_a_stored_target_scale_of_zero_names_the_model_file(capsys, tmp_path):
    model, data = regression_model_with_scale(tmp_path, "target_scaling")
    capsys.readouterr()
    assert main(["predict", str(model), str(data)]) == 2
    assert one_line(capsys, "predict").startswith(
        f"chainrule predict: error: {model}: the stored target scaling is damaged: its scale of target 1 is 0.0"
    )


@pytest.mark.parametrize("key, what", [("scaling", "feature"), ("target_scaling", "target")])
def test_export_names_a_stored_scale_of_zero(capsys, tmp_path, key, what):
    model, _ = regression_model_with_scale(tmp_path, key)
    capsys.readouterr()
    assert main(["export", str(model), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert one_line(capsys, "export").startswith(
        f"chainrule export: error: {model}: the stored {what} scaling is damaged: its scale of {what} 1 is 0.0"
    )
    assert not (tmp_path / "m.onnx").exists()
