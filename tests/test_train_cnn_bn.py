"""chainrule train --model cnn-bn: a digits CNN with BatchNorm and Dropout trains, resumes bitwise after
SIGKILL (Dropout's generator state and BatchNorm's running statistics are in the checkpoint), and its
eval-mode predictions do not depend on the batch they come in."""

import os
import signal

import numpy as np
import pytest
from safetensors.numpy import load_file
from test_train_resume import chainrule

ARGS = ["train", "--model", "cnn-bn", "--batch-size", "4", "--epochs", "3", "--progress", "lines", "--seed", "5"]


def run_until_paused(out, epoch, step):
    """Starts a run that pauses after ``step`` of ``epoch`` and returns once it has said so (no sleeps)."""
    proc = chainrule(*ARGS, "--out", out, env=dict(os.environ, CHAINRULE_TEST_PAUSE_AT=f"{epoch}:{step}"))
    for line in proc.stdout:  # the event the program makes visible: its marker line
        if line.startswith("test hook: paused"):
            return proc
    raise AssertionError("the run ended before the pause: " + proc.stderr.read())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = chainrule(*ARGS, "--out", out)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return out


def test_cnn_bn_trains_and_predicts_independently_of_the_batch(reference):
    import json

    from chainrule.serialize import load_model

    epochs = json.loads((reference / "metrics.json").read_text())["epochs"]
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    net, _ = load_model(reference / "model.safetensors")
    assert any(type(m).__name__ == "BatchNorm2d" for m in net.layers)
    assert any(type(m).__name__ == "Dropout" for m in net.layers)
    assert int(net.layers[1].num_batches_tracked) > 0
    net.eval()
    x = np.random.default_rng(0).uniform(0, 1, size=(6, 1, 8, 8))
    whole = net.forward(x)
    np.testing.assert_allclose(
        np.concatenate([net.forward(x[i : i + 1]) for i in range(6)]), whole, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(net.forward(x[::-1])[::-1], whole, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_cnn_bn_resumes_bitwise_after_sigkill(tmp_path, reference):
    out = tmp_path / "run"
    proc = run_until_paused(out, 2, 10)  # epoch 1's checkpoint is written; killed inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()
    proc = chainrule("train", "--resume", out)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    ours, want = load_file(out / "model.safetensors"), load_file(reference / "model.safetensors")
    assert set(ours) == set(want) and any(k.endswith("running_var") for k in want)
    for k in want:
        assert ours[k].tobytes() == want[k].tobytes(), f"{k} differs after resuming"
