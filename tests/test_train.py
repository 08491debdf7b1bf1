"""chainrule train / predict / evaluate end to end on tiny runs, their files, and their one-line errors."""

import gzip
import json

import numpy as np
import pytest

from chainrule.cli import main

TINY = ["--hidden", "16", "--epochs", "2", "--progress", "lines"]


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    from sklearn.datasets import load_digits

    d = load_digits()
    p = tmp_path_factory.mktemp("data") / "digits.csv"
    p.write_text(
        "label,"
        + ",".join(f"p{i}" for i in range(64))
        + "\n"
        + "".join(",".join(str(int(v)) for v in [t, *row]) + "\n" for t, row in zip(d.target, d.data, strict=True))
    )
    return p


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def test_train_writes_every_file(trained):
    names = {p.name for p in trained.iterdir()}
    assert {
        "model.safetensors",
        "checkpoint.safetensors",
        "metrics.json",
        "metrics.csv",
        "learning-curves.png",
    } <= names
    m = json.loads((trained / "metrics.json").read_text())
    assert [e["epoch"] for e in m["epochs"]] == [1, 2]
    assert set(m["epochs"][0]) >= {"epoch", "train_loss", "train_error", "val_loss", "val_error"}
    assert m["epochs"][1]["val_error"] < 0.15
    rows = (trained / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,train_loss,train_error,val_loss,val_error") and len(rows) == 3
    assert (trained / "learning-curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in trained.iterdir() if p.name.endswith(".tmp")]


def test_model_file_loads_into_pytorch(trained):
    import torch
    from safetensors.numpy import load_file

    tensors = load_file(trained / "model.safetensors")
    net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 10)).double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)


def test_summary_has_confusion_matrix(capsys, tmp_path):
    code, out, _ = cli(capsys, "train", *TINY, "--epochs", "1")
    assert code == 0
    assert "epoch 1/1" in out and "confusion matrix" in out and "s per epoch" in out


def test_predict_and_evaluate(capsys, trained, digits_csv, tmp_path):
    code, out, _ = cli(capsys, "predict", trained / "model.safetensors", digits_csv)
    assert code == 0
    labels = np.array([int(v) for v in out.split()])
    truth = np.loadtxt(digits_csv, delimiter=",", skiprows=1)[:, 0]
    assert labels.shape == (1797,) and np.mean(labels != truth) < 0.15
    # the same data without its label column, to a file
    nolabel = tmp_path / "x.csv"
    nolabel.write_text("".join(line.split(",", 1)[1] + "\n" for line in digits_csv.read_text().splitlines()[1:]))
    assert cli(capsys, "predict", trained / "model.safetensors", nolabel, "--out", tmp_path / "p.txt")[0] == 0
    assert (tmp_path / "p.txt").read_text() == out
    code, out, _ = cli(capsys, "evaluate", trained / "model.safetensors", digits_csv)
    assert code == 0 and "error: " in out and "confusion matrix" in out
    assert float(out.split("error: ")[1].split()[0]) == pytest.approx(np.mean(labels != truth))


def test_regression_csv(capsys, tmp_path):
    g = np.random.default_rng(0)
    X = g.normal(size=(60, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3
    p = tmp_path / "r.csv"
    p.write_text("".join(",".join(repr(float(v)) for v in [t, *row]) + "\n" for t, row in zip(y, X, strict=True)))
    code, out, err = cli(
        capsys,
        "train",
        "--train",
        p,
        "--task",
        "regression",
        "--hidden",
        "none",
        "--epochs",
        "40",
        "--batch-size",
        "4",
        "--lr",
        "0.05",
        "--out",
        tmp_path / "o",
        "--progress",
        "lines",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["epochs"][-1]["val_error"] < 1e-3
    code, out, _ = cli(capsys, "predict", tmp_path / "o" / "model.safetensors", p)
    np.testing.assert_allclose([float(v) for v in out.split()], y, atol=1e-3)


@pytest.mark.parametrize("opt", ["adam", "adagrad"])
def test_other_optimisers_and_npz(capsys, tmp_path, opt):
    from sklearn.datasets import load_digits

    d = load_digits()
    np.savez(tmp_path / "d.npz", X=d.data[:400], y=d.target[:400])
    code, out, err = cli(capsys, "train", "--train", tmp_path / "d.npz", "--optimizer", opt, "--lr", "0.01", *TINY)
    assert code == 0, err
    assert f"{opt} lr 0.01" in out


def test_idx_training(capsys, tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.images[:300].astype(np.uint8), d.target[:300].astype(np.uint8)
    head = bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in X.shape)
    (tmp_path / "t-images-idx3-ubyte.gz").write_bytes(gzip.compress(head + X.tobytes()))
    (tmp_path / "t-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(bytes([0, 0, 8, 1]) + (300).to_bytes(4, "big") + y.tobytes())
    )
    code, _, err = cli(capsys, "train", "--train", tmp_path / "t-images-idx3-ubyte.gz", *TINY)
    assert code == 0, err


def test_toml_model(capsys, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(
        'loss = "cross-entropy"\n[[layers]]\nunits = 12\nactivation = "relu"\n'
        '[[layers]]\nunits = 10\nactivation = "softmax"\n'
    )
    code, out, err = cli(capsys, "train", "--model", spec, "--epochs", "1", "--out", tmp_path / "o")
    assert code == 0, err
    code, out, _ = cli(capsys, "evaluate", tmp_path / "o" / "model.safetensors", _digits_npz(tmp_path))
    assert code == 0


CONV_SPEC = """input = [1, 8, 8]
[[layers]]
type = "conv2d"
out_channels = 4
kernel_size = 3
padding = 1
activation = "relu"
[[layers]]
type = "maxpool2d"
kernel_size = 2
[[layers]]
type = "flatten"
[[layers]]
units = 10
activation = "softmax"
"""


def test_toml_conv_model_with_softmax_and_no_loss(capsys, tmp_path):
    spec = tmp_path / "conv.toml"
    spec.write_text(CONV_SPEC)
    code, out, err = cli(capsys, "train", "--model", spec, "--epochs", "1", "--out", tmp_path / "o")
    assert code == 0, err
    from chainrule.serialize import load_model

    net, extra = load_model(tmp_path / "o" / "model.safetensors")
    assert type(net[-1]).__name__ == "Linear" and extra["loss"] == "cross-entropy"  # softmax fused into the loss
    assert extra["input_shape"] == [1, 8, 8]


def _digits_npz(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    np.savez(tmp_path / "all.npz", X=d.data, y=d.target)
    return tmp_path / "all.npz"


def test_divergence_stops_and_keeps_the_last_good_checkpoint(capsys, tmp_path):
    p = tmp_path / "r.csv"
    # ŷ = w·1 + b: lr 0.1 converges in epoch 1; StepLR makes it 100 in epoch 2, where the error grows
    # ×199 a step and the loss overflows at step 75, before the end-of-epoch growth check could stop it
    p.write_text("1,1\n" * 150)
    out = tmp_path / "o"
    code, _, err = cli(
        capsys,
        "train",
        "--train",
        p,
        "--task",
        "regression",
        "--no-target-scaling",
        "--hidden",
        "none",
        "--scale",
        "none",
        "--momentum",
        "0",
        "--lr",
        "0.1",
        "--scheduler",
        "step",
        "--step-size",
        "1",
        "--gamma",
        "1000",
        "--batch-size",
        "1",
        "--no-shuffle",
        "--val-split",
        "0",
        "--epochs",
        "20",
        "--init",
        "zeros",
        "--out",
        out,
        "--progress",
        "lines",
    )
    assert code == 2 and err.count("\n") == 1
    assert "the loss is inf at epoch 2, step 75" in err and "end of epoch 1" in err and "Warning" not in err
    from chainrule.train.checkpoint import load_checkpoint

    ck = load_checkpoint(out)
    assert (ck.epoch, ck.step) == (1, 0)
    assert all(np.isfinite(p.data).all() for p in ck.model.parameters())
    assert not (out / "model.safetensors").exists()


BAD_CSV = {
    "ragged": ("1,2,3\n4,5\n", "line 2"),
    "text": ("1,2,3\n4,five,6\n", "line 2, column 2"),
    "empty": ("", "empty"),
    "label": ("1,2,3\n0.5,2,3\n", "line 2"),
    "nan": ("1,2,3\n1,NaN,3\n", "line 2"),
    "inf": ("1,2,3\n1,2,-inf\n", "line 2"),
}


@pytest.fixture
def good_run(tmp_path):
    out = tmp_path / "out"
    assert main(["train", "--hidden", "8", "--epochs", "1", "--out", str(out), "--progress", "lines"]) == 0
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def assert_one_line_error(capsys, args, *needles):
    code, _, err = cli(capsys, *args)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for n in needles:
        assert str(n) in err, err


def assert_untouched(out, before):
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv_is_one_line_and_out_is_untouched(capsys, tmp_path, good_run, case):
    out, before = good_run
    text, where = BAD_CSV[case]
    bad = tmp_path / f"{case}.csv"
    bad.write_text(text)
    assert_one_line_error(capsys, ["train", "--train", bad, "--out", out, "--overwrite"], bad, where)
    assert_untouched(out, before)
    assert_one_line_error(capsys, ["train", "--validation", bad, "--out", out, "--overwrite"], bad, where)
    assert_untouched(out, before)


def test_bad_idx_and_shapes(capsys, tmp_path, good_run):
    out, before = good_run
    imgs = np.zeros((4, 3, 3), np.uint8)
    head = bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in imgs.shape)
    magic = tmp_path / "m-images-idx3-ubyte"
    magic.write_bytes(b"\x00\x01" + head[2:] + imgs.tobytes())
    short = tmp_path / "s-images-idx3-ubyte.gz"
    short.write_bytes(gzip.compress(head + imgs.tobytes()[:-3]))
    img, lab = tmp_path / "c-images-idx3-ubyte", tmp_path / "c-labels-idx1-ubyte"
    img.write_bytes(head + imgs.tobytes())
    lab.write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes(3))
    csv = tmp_path / "w.csv"
    csv.write_text("1,2,3,4\n0,1,1,1\n")
    for args, needles in [
        (["--train", magic], [magic, "magic number"]),
        (["--train", short], [short, "truncated"]),
        (["--train", img], [lab, "3 labels", "4 images"]),
        (["--train", csv, "--image-shape", "2,2"], [csv, "--image-shape"]),
    ]:
        assert_one_line_error(capsys, ["train", *args, "--out", out, "--overwrite"], *needles)
        assert_untouched(out, before)


def test_bad_model_files(capsys, tmp_path, good_run, digits_csv):
    out, before = good_run
    trunc = tmp_path / "t.safetensors"
    trunc.write_bytes(before["model.safetensors"][:-40])
    other = tmp_path / "o.safetensors"
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3)}, other)
    for cmd in ("predict", "evaluate"):
        assert_one_line_error(capsys, [cmd, trunc, digits_csv], trunc)
        assert_one_line_error(capsys, [cmd, other, digits_csv], other, "not a chainrule model")
        assert_one_line_error(capsys, [cmd, out / "checkpoint.safetensors", digits_csv], "not a chainrule model")
    assert_untouched(out, before)


def test_existing_run_is_protected(capsys, good_run):
    out, before = good_run
    assert_one_line_error(capsys, ["train", "--epochs", "1", "--out", out], "--resume", "--overwrite")
    assert_one_line_error(capsys, ["train", "--resume", out, "--lr", "0.1"], "--lr")
    assert_untouched(out, before)


def test_bad_settings_and_failed_overwrite_keep_the_old_run(capsys, tmp_path, good_run):
    out, before = good_run
    for flags, needle in [
        (["--lr", "inf"], "--lr"),
        (["--weight-decay", "nan"], "--weight-decay"),
        (["--momentum", "-1"], "--momentum"),
    ]:
        assert_one_line_error(capsys, ["train", *flags, "--out", out, "--overwrite"], needle)
        assert_untouched(out, before)
    # a run that diverges before its first checkpoint must not have removed the old run's files
    p = tmp_path / "r.csv"
    p.write_text("1,1\n" * 4)
    assert_one_line_error(
        capsys,
        [
            "train",
            "--train",
            p,
            "--task",
            "regression",
            "--no-target-scaling",
            "--hidden",
            "none",
            "--scale",
            "none",
            "--lr",
            "1e200",
            "--batch-size",
            "1",
            "--val-split",
            "0",
            "--init",
            "zeros",
            "--out",
            out,
            "--overwrite",
            "--progress",
            "lines",
        ],
        "diverged",
    )
    assert_untouched(out, before)


def test_resume_cannot_shorten_a_run(capsys, good_run):
    out, _ = good_run
    assert main(["train", "--resume", str(out), "--epochs", "2", "--progress", "lines"]) == 0
    capsys.readouterr()
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    # the weights are past epoch 2: a model file labelled "1 epoch" would be a lie
    assert_one_line_error(capsys, ["train", "--resume", out, "--epochs", "1"], "finished 2 epochs")
    assert_untouched(out, after)


def test_gzipped_csv_for_train_predict_and_evaluate(capsys, tmp_path):
    rows = "".join(f"{i % 2},{i},{(i * 7) % 5}\n" for i in range(12))
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(rows.encode()))
    (tmp_path / "f.csv.gz").write_bytes(
        gzip.compress("".join(r.split(",", 1)[1] + "\n" for r in rows.splitlines()).encode())
    )
    out = tmp_path / "o"
    code, _, err = cli(
        capsys,
        "train",
        "--train",
        tmp_path / "d.csv.gz",
        "--hidden",
        "2",
        "--epochs",
        "1",
        "--val-split",
        "0",
        "--out",
        out,
        "--progress",
        "lines",
    )
    assert code == 0, err
    with_labels = cli(capsys, "predict", out / "model.safetensors", tmp_path / "d.csv.gz")
    features_only = cli(capsys, "predict", out / "model.safetensors", tmp_path / "f.csv.gz")
    assert with_labels[0] == features_only[0] == 0 and with_labels[1] == features_only[1]
    assert cli(capsys, "evaluate", out / "model.safetensors", tmp_path / "d.csv.gz")[0] == 0


def test_a_closed_stdout_does_not_stop_the_run(tmp_path):
    # `chainrule train ... | head -1`: the reader leaves after one line; the run must still finish and save
    import subprocess
    import sys

    data = tmp_path / "d.csv"
    data.write_text("".join(f"{i % 2},{i}\n" for i in range(8)))
    out = tmp_path / "o"
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chainrule",
            "train",
            "--train",
            str(data),
            "--hidden",
            "2",
            "--epochs",
            "3",
            "--val-split",
            "0",
            "--out",
            str(out),
            "--progress",
            "lines",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 0 and err == "", err
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 3
    assert (out / "model.safetensors").exists()


def test_no_stdout_at_all(capsys, monkeypatch, tmp_path):
    # started with stdout closed (a daemon, `>&-`): Python's sys.stdout is None; train runs on,
    # predict asks for --out
    data = tmp_path / "d.csv"
    data.write_text("".join(f"{i % 2},{i}\n" for i in range(8)))
    out = tmp_path / "o"
    monkeypatch.setattr("sys.stdout", None)
    assert (
        main(["train", "--train", str(data), "--hidden", "2", "--epochs", "1", "--val-split", "0", "--out", str(out)])
        == 0
    )
    assert (out / "model.safetensors").exists()
    assert main(["predict", str(out / "model.safetensors"), str(data)]) == 2
    assert "--out" in capsys.readouterr().err


def test_output_paths_that_are_folders(capsys, tmp_path, good_run, digits_csv):
    out, before = good_run
    assert_one_line_error(
        capsys, ["predict", out / "model.safetensors", digits_csv, "--out", tmp_path], tmp_path, "is a folder"
    )
    assert_one_line_error(
        capsys,
        ["predict", out / "model.safetensors", digits_csv, "--out", tmp_path / "no" / "labels.txt"],
        "no such folder",
    )
    assert_one_line_error(capsys, ["train", "--out", digits_csv / "sub"], "is a file, not a folder")
    for target in (out / "model.safetensors", digits_csv):  # arguments mixed up: nothing is overwritten
        assert_one_line_error(
            capsys, ["predict", out / "model.safetensors", digits_csv, "--out", target], "would overwrite"
        )
    odd = tmp_path / "odd"
    (odd / "checkpoint.safetensors").mkdir(parents=True)
    assert_one_line_error(capsys, ["train", "--resume", odd], "no checkpoint.safetensors")
    assert_one_line_error(capsys, ["train", "--out", odd, "--overwrite"], "is a folder")
    assert_untouched(out, before)


def test_flag_combinations_and_seed(capsys, good_run, digits_csv):
    out, before = good_run
    assert_one_line_error(
        capsys,
        ["train", "--validation", digits_csv, "--val-split", "0.5", "--out", out, "--overwrite"],
        "--val-split",
        "--validation",
    )
    assert_one_line_error(capsys, ["train", "--seed", "-1", "--out", out, "--overwrite"], "--seed")
    # the bundled digits are 64 values each: an --image-shape of another size is not silently ignored
    assert_one_line_error(capsys, ["train", "--image-shape", "5,5", "--out", out, "--overwrite"], "5×5", "64")
    assert_untouched(out, before)
    # a run with --validation resumes (its stored settings hold the default split, which must not clash)
    tiny = out.parent / "tiny.csv"
    tiny.write_text("0,1\n1,2\n0,3\n1,4\n")
    run = out.parent / "v"
    assert (
        main(
            [
                "train",
                "--train",
                str(tiny),
                "--validation",
                str(tiny),
                "--hidden",
                "2",
                "--epochs",
                "1",
                "--out",
                str(run),
                "--progress",
                "lines",
            ]
        )
        == 0
    )
    assert main(["train", "--resume", str(run), "--epochs", "2", "--progress", "lines"]) == 0


def test_out_of_memory_is_one_line(capsys, monkeypatch):
    # e.g. --hidden 100000000: NumPy cannot allocate the layer; the user gets a line, not an internal error
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 23.8 GiB for an array with shape (32, 100000000)")

    monkeypatch.setattr("chainrule.train.run.train", too_big)
    assert_one_line_error(capsys, ["train", "--hidden", "100000000"], "not enough memory", "23.8 GiB")


def test_cnn_preset_on_images_and_csv_image_shape(capsys, tmp_path, digits_csv):
    code, out, err = cli(
        capsys,
        "train",
        "--model",
        "cnn",
        "--train",
        digits_csv,
        "--image-shape",
        "8,8",
        "--epochs",
        "1",
        "--out",
        tmp_path / "o",
        "--progress",
        "lines",
    )
    assert code == 0, err
    assert "adam lr 0.002" in out  # the preset's own defaults
    code, out, err = cli(capsys, "predict", tmp_path / "o" / "model.safetensors", digits_csv)
    assert code == 0 and len(out.split()) == 1797
    assert_one_line_error(
        capsys, ["train", "--model", "cnn", "--train", digits_csv, "--epochs", "1"], "--model cnn needs image examples"
    )


def test_batch_of_one_keeps_images_batched():
    """At batch size 1 feature rows go in as 1-D vectors, but images must keep their batch axis."""
    from chainrule.nn import CrossEntropyLoss
    from chainrule.optim import SGD
    from chainrule.train.loop import run_epoch
    from chainrule.train.models import cnn

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 1, 8, 8)), rng.integers(0, 3, 6)
    net = cnn((1, 8, 8), 3, np.float64, rng)
    assert run_epoch(net, CrossEntropyLoss(), SGD(net.parameters(), 0.01), X, y, np.arange(6), 1, 0) == 6


def test_progress_bar_mode(capsys):
    code, out, err = cli(capsys, "train", "--hidden", "8", "--epochs", "1", "--progress", "bar")
    assert code == 0
    assert "epoch 1/1" in out and "step" in err  # the per-epoch line on stdout, tqdm's bar on stderr


def test_durations_are_printed_with_a_unit_that_fits():
    from chainrule.train.report import fmt_seconds

    # formats fixed durations given as numbers: nothing is timed here
    assert [fmt_seconds(s) for s in (0.0004, 0.004, 0.0404, 1.26, 59.9, 300.0)] == [
        "400 µs",
        "4.0 ms",
        "40.4 ms",
        "1.3 s",
        "59.9 s",
        "5.0 min",
    ]
