"""--resume after a real SIGKILL (and after Ctrl-C) ends with the same weights, bit for bit.

The run is interrupted at a step it names itself: the test-only ``CHAINRULE_TEST_PAUSE_AT=E:S`` makes
``chainrule train`` print a marker after step S of epoch E and wait for a signal, so no sleep decides
where the run stops, on a fast machine or a loaded one.
"""

import os
import signal
import subprocess
import sys

import pytest
from safetensors.numpy import load_file

ARGS = ["train", "--hidden", "24", "--batch-size", "1", "--epochs", "5", "--progress", "lines", "--seed", "3"]


def chainrule(*args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


PAUSE = (2, 700)  # epoch 2 (of about 1,400 steps), after step 700


def interrupt_at(out, sig, epoch=PAUSE[0], step=PAUSE[1]):
    """Runs until the program says it paused after ``step`` of ``epoch``, then sends ``sig``."""
    env = dict(os.environ, CHAINRULE_TEST_PAUSE_AT=f"{epoch}:{step}")
    proc = chainrule(*ARGS, "--out", out, env=env)
    seen = []
    for line in proc.stdout:  # blocks until the marker: an event the program makes visible
        seen.append(line)
        if line.startswith("test hook: paused"):
            assert line.strip() == f"test hook: paused at epoch {epoch}, step {step}"
            break
    else:
        raise AssertionError("the run ended without reaching the pause: " + "".join(seen) + proc.stderr.read())
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, "".join(seen) + stdout, stderr


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
    code, _, _ = interrupt_at(out, signal.SIGKILL)
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
    code, stdout, _ = interrupt_at(out, signal.SIGINT)
    assert code == 130 and f"interrupted at epoch {PAUSE[0]}, step {PAUSE[1]}" in stdout
    ck = load_checkpoint(out)
    assert (ck.epoch, ck.step) == (PAUSE[0] - 1, PAUSE[1])  # saved during epoch 2, at the step it named
    proc = chainrule("train", "--resume", out)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "resuming at epoch 2" + (f" step {ck.step + 1}" if ck.step else "") in stdout
    assert_same(out, reference)
