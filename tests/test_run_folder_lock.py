"""One ``chainrule train`` at a time per --out folder (issue 9, item 7): a lock file holding the PID.

No sleep decides anything: a "live" PID is a ``sleep`` process this test starts and kills; a running
trainer is paused by the test-only hook CHAINRULE_TEST_PAUSE_AT and the test waits for its marker line.
"""

import os
import signal
import subprocess
import sys

from chainrule.cli import main
from chainrule.train.lock import NAME

TINY = ["train", "--hidden", "4", "--epochs", "1", "--progress", "lines"]


def refused_line(folder, pid, flag="--out"):
    return (
        f"chainrule train: error: {flag} {folder}: another chainrule train (PID {pid}) is writing to this "
        "folder; wait for it to finish, or give another folder\n"
    )


def test_a_live_lock_refuses_and_a_dead_one_is_taken_over(capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen(["sleep", "60"])  # a live PID that this test controls; never waited on for time
    try:
        (out / NAME).write_text(f"{holder.pid}\n")
        assert main([*TINY, "--out", str(out)]) == 2
        assert capsys.readouterr().err == refused_line(out, holder.pid)
        assert sorted(p.name for p in out.iterdir()) == [NAME]  # nothing written, the other run's lock kept
        assert (out / NAME).read_text() == f"{holder.pid}\n"
    finally:
        holder.kill()
        holder.wait()  # reaped: its PID is dead now
    assert main([*TINY, "--out", str(out)]) == 0  # the stale lock is taken over
    capsys.readouterr()
    assert (out / "model.safetensors").exists() and not (out / NAME).exists()


def test_the_lock_is_released_on_an_error_and_a_refused_run_leaves_no_folder(capsys, tmp_path):
    out = tmp_path / "new"
    assert main([*TINY, "--train", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()
    out.mkdir()
    assert main([*TINY, "--train", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    capsys.readouterr()
    assert list(out.iterdir()) == []


def start_paused(*args, step=1):
    """A ``chainrule train`` subprocess, returned once it says it paused after ``step`` of epoch 1."""
    env = dict(os.environ, CHAINRULE_TEST_PAUSE_AT=f"1:{step}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen = []
    for line in proc.stdout:  # the event the program makes visible
        seen.append(line)
        if line.startswith("test hook: paused"):
            return proc
    raise AssertionError("the run ended without pausing: " + "".join(seen) + proc.stderr.read())


def test_concurrent_runs_ctrl_c_releases_and_a_killed_runs_leftovers_are_cleaned(capsys, tmp_path):
    out = tmp_path / "run"
    first = start_paused(*TINY, "--out", out)
    try:
        assert (out / NAME).read_text() == f"{first.pid}\n"
        assert main([*TINY, "--out", str(out), "--overwrite"]) == 2
        assert capsys.readouterr().err == refused_line(out, first.pid)
        first.send_signal(signal.SIGINT)  # Ctrl-C: saves mid-epoch, exits 130, releases the lock
        assert first.wait(timeout=120) == 130
    finally:
        first.kill()
        first.communicate()
    assert not (out / NAME).exists()

    second = start_paused("train", "--resume", out, step=2)  # it resumes after step 1
    second.kill()  # SIGKILL: no clean-up runs, the lock stays naming a dead PID
    second.communicate()
    assert (out / NAME).read_text() == f"{second.pid}\n"
    left = out / ".model.safetensors.k2x_9q0a.tmp"  # as a kill inside an atomic write leaves it
    left.write_bytes(b"half a model")
    other = out / ".notes.k2x_9q0a.tmp"  # not a file chainrule writes: not ours to remove
    other.write_text("the user's")
    assert main(["train", "--resume", str(out)]) == 0
    capsys.readouterr()
    assert not (out / NAME).exists() and not left.exists() and other.exists()
