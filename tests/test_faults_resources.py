"""Issue 9, item 7: a full disk, an --out that cannot be written, and sizes too large for memory are
each one line naming the file or flag, exit status 2, and nothing already on disk is lost.

Writes fail through a monkeypatched ``os.replace`` (the atomic write's last step) raising the OSError
a full disk raises; memory is made small (``core.memory.available_bytes``) so that every size refused
here is refused by arithmetic, whatever the machine, and an unchecked size would stay harmless.
"""

import errno
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.core import memory
from chainrule.data import load_data
from chainrule.errors import ChainruleError
from chainrule.serialize import FORMAT, read_safetensors, write_safetensors

RUN = ["--hidden", "4", "--epochs", "1", "--progress", "lines"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished one-epoch run (digits, 64-4-10)."""
    out = tmp_path_factory.mktemp("faults") / "run"
    assert main(["train", *RUN, "--out", str(out)]) == 0
    return out


@pytest.fixture
def run(base, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(base, out)
    capsys.readouterr()
    return out


@pytest.fixture
def small_memory(monkeypatch):
    """The machine reports 64 MiB available."""
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 << 20)


def fail_replace(monkeypatch, name: str, code: int) -> None:
    """Writing a file called ``name`` fails with OSError ``code`` at its final rename."""
    real = os.replace

    def replace(src, dst, *a, **k):
        if Path(dst).name == name:
            raise OSError(code, os.strerror(code))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)


def one_line(capsys, command: str = "train") -> str:
    out, err = capsys.readouterr()
    assert err.startswith(f"chainrule {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return err


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_full_disk_while_writing_the_checkpoint(capsys, monkeypatch, run, code):
    before = contents(run)
    fail_replace(monkeypatch, "checkpoint.safetensors", code)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--progress", "lines"]) == 2
    err = one_line(capsys)
    assert f"{run / 'checkpoint.safetensors'}: cannot write: {os.strerror(code)} (" in err
    assert " free on that file system; the file there is unchanged)" in err
    assert contents(run) == before  # every file intact, no temporary file left, the lock released


@pytest.mark.parametrize("name", ["model.safetensors", "metrics.json"])
def test_full_disk_while_writing_the_model_or_metrics(capsys, monkeypatch, run, name):
    before = contents(run)
    fail_replace(monkeypatch, name, errno.ENOSPC)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--progress", "lines"]) == 2
    err = one_line(capsys)
    assert f"{run / name}: cannot write: No space left on device (" in err and "free on that file system" in err
    assert contents(run)[name] == before[name]
    assert not [p for p in run.iterdir() if p.suffix == ".tmp"]


def test_full_disk_in_the_course_command_names_the_output(capsys, monkeypatch, tmp_path):
    rows = np.column_stack([np.arange(8) % 2, np.linspace(0, 1, 8), np.linspace(1, 0, 8)])
    np.savetxt(tmp_path / "t.csv", rows, delimiter=",")
    (tmp_path / "metrics.txt").write_text("an earlier run's metrics\n")
    fail_replace(monkeypatch, "metrics.txt", errno.ENOSPC)
    paths = [str(tmp_path / n) for n in ("t.csv", "t.csv", "tr.labels", "va.labels", "metrics.txt")]
    assert main(["neuralnet", *paths, "1", "2", "1", "0.1"]) == 2
    err = one_line(capsys, "neuralnet")
    assert f"{tmp_path / 'metrics.txt'}: cannot write: No space left on device" in err
    assert (tmp_path / "metrics.txt").read_text() == "an earlier run's metrics\n"


def test_a_write_error_naming_no_file_is_not_an_internal_error(capsys, monkeypatch):
    import chainrule.cli.summary as summary

    def full(args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(summary, "run", full)
    assert main(["summary", "mlp"]) == 2
    assert one_line(capsys, "summary") == "chainrule summary: error: No space left on device\n"


def test_an_out_that_cannot_take_files_is_refused_before_training(capsys, monkeypatch, tmp_path):
    """Probed by making a file there (as root, permissions allow everything: the probe fails instead)."""
    import tempfile

    out = tmp_path / "ro"
    out.mkdir()

    def read_only(*a, dir=None, **k):
        if dir is not None and Path(dir) == out:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*a, dir=dir, **k)

    real = tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert main(["train", *RUN, "--out", str(out)]) == 2
    out_text, err = capsys.readouterr()
    assert err == f"chainrule train: error: --out {out}: cannot write there: Read-only file system\n"
    assert "epoch" not in out_text and list(out.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_out_folder_is_refused_before_training(capsys, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["train", *RUN, "--out", str(out)]) == 2
        out_text, err = capsys.readouterr()
        assert f"--out {out}: cannot write" in err and err.count("\n") == 1 and "epoch" not in out_text
    finally:
        out.chmod(0o755)


def test_an_out_below_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "f").write_text("")
    assert main(["train", *RUN, "--out", str(tmp_path / "f" / "run")]) == 2
    assert f"--out {tmp_path / 'f' / 'run'}: cannot be made" in one_line(capsys)


def test_a_model_file_claiming_a_huge_layer_is_refused_before_allocating(capsys, small_memory, base, tmp_path):
    """1.5 KB-sized: the weights stored are small, the architecture claims 10⁹ outputs."""
    tensors, meta = read_safetensors(base / "model.safetensors", "a model file")
    header = __import__("json").loads(meta[FORMAT])
    header["architecture"]["layers"][0]["out_features"] = 10**9
    bad = tmp_path / "huge.safetensors"
    write_safetensors(bad, tensors, FORMAT, header)
    assert bad.stat().st_size < 8000
    np.savetxt(tmp_path / "x.csv", np.zeros((2, 64)), delimiter=",")
    assert main(["predict", str(bad), str(tmp_path / "x.csv")]) == 2
    err = one_line(capsys, "predict")
    assert err.startswith(f"chainrule predict: error: {bad}: layer 0: Linear(64→1000000000): its ")
    assert "parameters and their gradients need 968.6 GiB, more than the 64.0 MiB of memory available" in err


@pytest.mark.parametrize("hidden", ["1000000000", "16,1000000000"])
def test_hidden_too_large_is_refused_by_its_flag(capsys, small_memory, hidden):
    assert main(["train", "--hidden", hidden, "--epochs", "1"]) == 2
    err = one_line(capsys)
    assert err.startswith(f"chainrule train: error: --hidden {hidden}: a 64→")
    assert "needs about" in err and "more than the 64.0 MiB of memory available; use fewer hidden units" in err


def test_hidden_that_fits_in_memory_trains(capsys, small_memory):
    assert main(["train", "--hidden", "8", "--epochs", "1", "--progress", "lines"]) == 0
    capsys.readouterr()


def test_a_spec_layer_too_large_names_the_spec_and_layer(capsys, small_memory, tmp_path):
    spec = tmp_path / "big.toml"
    spec.write_text('[[layers]]\ntype = "linear"\nunits = 1000000000\n[[layers]]\ntype = "linear"\nunits = 10\n')
    assert main(["train", "--model", str(spec), "--epochs", "1"]) == 2
    assert one_line(capsys).startswith(f"chainrule train: error: {spec}: [[layers]] #1: Linear(64→1000000000): ")


def test_course_hidden_units_too_large_names_the_argument(capsys, small_memory, tmp_path):
    np.savetxt(tmp_path / "t.csv", np.column_stack([np.arange(6) % 2, np.ones((6, 3))]), delimiter=",")
    paths = [str(tmp_path / n) for n in ("t.csv", "t.csv", "a", "b", "c")]
    assert main(["neuralnet", *paths, "1", "1000000000", "1", "0.1"]) == 2
    err = one_line(capsys, "neuralnet")
    assert err.startswith("chainrule neuralnet: error: HIDDEN_UNITS 1000000000: a 3→1000000000→2 network has ")
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("name", ["zero.csv", "zero-idx3-ubyte", "zero.npz", "zero.csv.gz"])
def test_dev_zero_as_data_is_refused_by_its_format(tmp_path, name):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    with pytest.raises(ChainruleError) as e:
        load_data(link, labels=link if "idx" in name else None)
    assert str(e.value).startswith(f"{link}: ") and "\n" not in str(e.value)


def test_dev_zero_given_to_predict_is_refused(capsys, base, tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    assert main(["predict", str(base / "model.safetensors"), str(tmp_path / "zero.csv")]) == 2
    assert (
        one_line(capsys, "predict")
        == f"chainrule predict: error: {tmp_path / 'zero.csv'}: not a text file (is it really CSV?)\n"
    )
    (tmp_path / "zero.safetensors").symlink_to("/dev/zero")
    assert main(["predict", str(tmp_path / "zero.safetensors"), str(tmp_path / "zero.csv")]) == 2
    assert f"{tmp_path / 'zero.safetensors'}: not a readable safetensors model file" in one_line(capsys, "predict")


def test_a_csv_above_the_cap_is_refused_before_reading(small_memory, tmp_path):
    """64 MiB available: CSV text is read up to 8 MiB (an eighth: parsing holds several copies)."""
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("1,2,3\n" * ((9 << 20) // 6))
    with pytest.raises(ChainruleError, match=r"big\.csv: too large for a CSV file: .* MiB; at most 8\.0 MiB is read"):
        load_data(path)


def test_an_idx_header_claiming_a_huge_array_is_refused(small_memory, tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(b"\0\0\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (10**6, 1000, 1000)) + b"\0" * 64)
    with pytest.raises(ChainruleError) as e:
        load_data(path, labels=path)
    assert str(e.value).startswith(f"{path}: the header's array of shape 1000000×1000×1000 (uint8)")
    assert "more than the 64.0 MiB of memory available" in str(e.value)


def test_an_npz_member_claiming_a_huge_array_is_refused(small_memory, tmp_path):
    import io

    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 64)})
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X.npy", head.getvalue() + b"\0" * 64)
        z.writestr("y.npy", head.getvalue())
    with pytest.raises(ChainruleError) as e:
        load_data(path)
    assert str(e.value).startswith(f"{path}: array 'X' of shape 1000000000×64 (float64)")


def test_memory_budget_and_units(monkeypatch):
    assert memory.format_bytes(1536) == "1.5 KiB" and memory.format_bytes(32e9) == "29.8 GiB"
    assert memory.format_bytes(100) == "100 bytes"
    assert memory.available_bytes() is None or memory.available_bytes() > 0
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 20)
    memory.check_fits(1 << 23, "a small array")  # below 16 MiB: never refused
    with pytest.raises(
        ChainruleError, match=r"^a big array need 32\.0 MiB, more than the 1\.0 MiB of memory available$"
    ):
        memory.check_fits(1 << 25, "a big array")
