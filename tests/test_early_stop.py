"""chainrule train --early-stop PATIENCE: stops at a known epoch, keeps the best epoch's model bit for bit,
and a run interrupted (Ctrl-C) after the best epoch resumes to stop at the same epoch with the same bytes;
--scheduler step|cosine|plateau steps once per epoch and resumes bitwise too."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from chainrule.cli import main

# 24 training examples with 30% of the labels flipped, 40 clean validation ones: a wide MLP at a high rate
# fits the noise, so the validation loss falls to its lowest at epoch 7, then rises for 3 epochs
ARGS = ["train", "--hidden", "32", "--batch-size", "4", "--lr", "0.1", "--epochs", "30", "--progress", "lines"]
BEST, STOP, PATIENCE = 7, 10, 3


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(1)
    folder = tmp_path_factory.mktemp("data")

    def write(name, n, noise):
        X = rng.normal(size=(n, 5))
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
        flip = rng.random(n) < noise
        y[flip] = 1 - y[flip]
        (folder / name).write_text(
            "label,"
            + ",".join(f"x{i}" for i in range(5))
            + "\n"
            + "".join(f"{t}," + ",".join(f"{v:.4f}" for v in row) + "\n" for t, row in zip(y, X, strict=True))
        )
        return folder / name

    return ["--train", write("train.csv", 24, 0.3), "--validation", write("val.csv", 40, 0.0)]


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def epochs(out):
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    return [{k: v for k, v in e.items() if k != "seconds"} for e in history]


def same_bytes(a, b):
    wa, wb = load_file(a), load_file(b)
    return set(wa) == set(wb) and all(wa[k].tobytes() == wb[k].tobytes() for k in wa)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("es") / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "chainrule", *ARGS, *map(str, data), "--early-stop", str(PATIENCE), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_stops_at_the_known_epoch_and_says_which_it_kept(stopped):
    out, stdout = stopped
    h = epochs(out)
    assert [e["epoch"] for e in h] == list(range(1, STOP + 1))
    losses = [e["val_loss"] for e in h]
    assert int(np.argmin(losses)) + 1 == BEST and all(v >= losses[BEST - 1] for v in losses[BEST:])
    line = [x for x in stdout.splitlines() if x.startswith("early stopping:")]
    assert line == [
        f"early stopping: stopped after epoch {STOP}: the validation loss has not improved for "
        f"{PATIENCE} epochs (--early-stop {PATIENCE}); kept the model of epoch {BEST} (lowest "
        f"validation loss {losses[BEST - 1]:.6g})"
    ]


def test_saved_model_is_the_best_epochs_bitwise(stopped, data, tmp_path, capsys):
    out, _ = stopped
    plain = tmp_path / "plain"
    code, _, err = cli(capsys, *[a if a != "30" else BEST for a in ARGS], *data, "--out", plain)
    assert code == 0, err
    assert same_bytes(out / "model.safetensors", plain / "model.safetensors")
    assert epochs(plain) == epochs(out)[:BEST]  # the same trajectory up to the best epoch
    # resuming a run that has stopped trains no further: it finishes again with the same model
    code, stdout, err = cli(capsys, "train", "--resume", out)
    assert code == 0, err
    assert f"kept the model of epoch {BEST}" in stdout and len(epochs(out)) == STOP
    assert same_bytes(out / "model.safetensors", plain / "model.safetensors")


def interrupt_and_resume(out, flags, epoch, step):
    """Runs until the pause hook's marker after ``step`` of ``epoch``, sends Ctrl-C, then resumes; the resumed
    run's stdout."""
    env = dict(os.environ, CHAINRULE_TEST_PAUSE_AT=f"{epoch}:{step}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainrule", *map(str, flags), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in proc.stdout:  # blocks until the marker: an event the program makes visible
        if line.startswith("test hook: paused"):
            break
    else:
        raise AssertionError("the run ended without reaching the pause: " + proc.stderr.read())
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and f"interrupted at epoch {epoch}, step {step}" in stdout, stderr
    assert not (out / "model.safetensors").exists()
    resumed = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--resume", str(out)], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    return resumed.stdout


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_after_the_best_epoch_resumes_to_the_same_stop_and_bytes(stopped, data, tmp_path):
    ref, _ = stopped
    out = tmp_path / "run"
    # 2 epochs past the best, mid-epoch
    stdout = interrupt_and_resume(out, [*ARGS, *data, "--early-stop", PATIENCE], 9, 3)
    assert f"stopped after epoch {STOP}" in stdout and f"kept the model of epoch {BEST}" in stdout
    assert same_bytes(out / "model.safetensors", ref / "model.safetensors")
    assert epochs(out) == epochs(ref)


def test_scheduler_steps_once_per_epoch_after_its_steps(data, tmp_path, capsys):
    """StepLR with γ = 1e-300 every epoch: after epoch 1 the lr is so small that no weight changes (in
    float64), so 3 epochs end with exactly the weights of 1 epoch without a scheduler; a step size longer
    than the run changes nothing at all."""
    short = [a if a != "30" else 3 for a in ARGS] + list(data)
    runs = {
        "plain1": [a if a != 3 else 1 for a in short],
        "tiny": [*short, "--scheduler", "step", "--step-size", 1, "--gamma", 1e-300],
        "plain3": short,
        "long": [*short, "--scheduler", "step", "--step-size", 5],
        # threshold 1: no epoch counts as better, so with patience 0 the lr falls by 1e-300 after epoch 1
        "plateau": [*short, "--scheduler", "plateau", "--plateau-patience", 0, "--threshold", 1, "--factor", 1e-300],
        "plateau-long": [*short, "--scheduler", "plateau", "--plateau-patience", 5],
    }
    for name, flags in runs.items():
        code, _, err = cli(capsys, *flags, "--out", tmp_path / name)
        assert code == 0, err
    model = {name: tmp_path / name / "model.safetensors" for name in runs}
    assert same_bytes(model["tiny"], model["plain1"]) and not same_bytes(model["plain3"], model["plain1"])
    assert same_bytes(model["long"], model["plain3"])
    assert same_bytes(model["plateau"], model["plain1"]) and same_bytes(model["plateau-long"], model["plain3"])


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize(
    "schedule",
    [
        ["step", "--step-size", 2, "--gamma", 0.5],
        ["cosine", "--eta-min", 0.01],
        ["plateau", "--plateau-patience", 0, "--threshold", 0.3, "--factor", 0.5, "--cooldown", 1],
    ],
)
def test_scheduler_state_survives_ctrl_c_and_resume_bitwise(schedule, data, tmp_path, capsys):
    flags = [*[a if a != "30" else 5 for a in ARGS], *data, "--scheduler", *schedule]
    code, _, err = cli(capsys, *flags, "--out", tmp_path / "ref")
    assert code == 0, err
    interrupt_and_resume(tmp_path / "run", flags, 4, 2)  # after the lr has changed (epoch 3's StepLR decay)
    assert same_bytes(tmp_path / "run" / "model.safetensors", tmp_path / "ref" / "model.safetensors")
    assert epochs(tmp_path / "run") == epochs(tmp_path / "ref")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--val-split", "0"], "--early-stop watches the validation loss"),
        (["--early-stop", "0"], "--early-stop must be ≥ 1"),
        (["--early-stop", "2", "--scheduler", "step"], "--scheduler step needs --step-size"),
        (["--early-stop", "2", "--t-max", "3"], "--t-max applies to --scheduler cosine only"),
        (["--early-stop", "2", "--factor", "0.5"], "--factor applies to --scheduler plateau only"),
        (["--early-stop", "2", "--scheduler", "step", "--step-size", "2", "--cooldown", "1"], "--cooldown applies to"),
        (["--early-stop", "2", "--scheduler", "plateau", "--factor", "2"], "--scheduler plateau: --factor must"),
        (["--early-stop", "2", "--scheduler", "plateau", "--plateau-patience", "-1"], "--plateau-patience must"),
    ],
)
def test_refusals_are_one_line_exit_2(flags, message, data, tmp_path, capsys):
    train = [str(data[0]), str(data[1])]  # --train only: the validation split is what --val-split sets
    given = flags if "--early-stop" in flags else [*flags, "--early-stop", "2"]
    code, out, err = cli(capsys, *ARGS, *train, *given, "--out", tmp_path / "run")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # refused before anything was written
