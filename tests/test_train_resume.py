"""--resume after a real SIGKILL (and after Ctrl-C) ends with the same weights, bit for bit.

The run is killed right after its first checkpoint file appears, so it dies during epoch 2 (per-example
SGD makes an epoch last long enough); no sleep hooks or hidden flags are involved.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from safetensors.numpy import load_file

ARGS = ["train", "--hidden", "24", "--batch-size", "1", "--epochs", "5", "--progress", "lines", "--seed", "3"]


def chainrule(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "chainrule", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def interrupt_after_first_checkpoint(out, sig, wait_for="checkpoint.safetensors", delay=0.0):
    proc = chainrule(*ARGS, "--out", out)
    deadline = time.monotonic() + 60
    while not (out / wait_for).exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(delay)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = chainrule(*ARGS, "--out", out)
    assert proc.wait(timeout=120) == 0, proc.communicate()
    return load_file(out / "model.safetensors"), (out / "metrics.json").read_text()


def assert_same(out, reference):
    weights, metrics = reference
    ours = load_file(out / "model.safetensors")
    assert set(ours) == set(weights)
    for k in weights:
        assert ours[k].tobytes() == weights[k].tobytes(), f"{k} differs after resuming"
    import json

    strip = lambda m: [{k: v for k, v in e.items() if k != "seconds"} for e in json.loads(m)["epochs"]]  # noqa: E731
    assert strip((out / "metrics.json").read_text()) == strip(metrics)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_resume_after_sigkill_is_bitwise_identical(tmp_path, reference):
    out = tmp_path / "run"
    code, _, _ = interrupt_after_first_checkpoint(out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()  # it really died before finishing
    proc = chainrule("train", "--resume", out)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "resuming at epoch 2" in stdout
    assert_same(out, reference)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_saves_mid_epoch_and_resumes_bitwise(tmp_path, reference):
    from chainrule.train.checkpoint import load_checkpoint

    out = tmp_path / "run"
    # metrics.json follows the first checkpoint; a short wait lands inside epoch 2 (≈ 1,400 steps)
    code, stdout, _ = interrupt_after_first_checkpoint(out, signal.SIGINT, "metrics.json", 0.05)
    assert code == 130 and "interrupted at epoch 2" in stdout
    ck = load_checkpoint(out)
    assert ck.epoch == 1  # saved during epoch 2, at the step it had reached
    proc = chainrule("train", "--resume", out)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "resuming at epoch 2" + (f" step {ck.step + 1}" if ck.step else "") in stdout
    assert_same(out, reference)
