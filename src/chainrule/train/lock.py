"""One run at a time in a run folder: a lock file holding the running process's PID.

Two ``chainrule train`` runs into the same ``--out`` would otherwise both report success while one
silently replaces the other's files. The lock is made with O_CREAT | O_EXCL (atomic on a local file
system), removed on any exit that runs Python's clean-up (normal, error, Ctrl-C); a lock left by a
killed run names a dead PID and is taken over. Holding the lock, the run also removes the temporary
files that a kill in the middle of an atomic write left (files.atomic_write_bytes names them
``.<file>.<random>.tmp``): no other run can be writing them.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chainrule.errors import ChainruleError
from chainrule.files import cannot_write

NAME = ".chainrule-train.lock"
# files.atomic_write_bytes: tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp") adds 8 characters
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")


@contextmanager
def run_folder_lock(folder: Path, flag: str, outputs: tuple[str, ...], create: bool = True) -> Iterator[None]:
    """Hold the lock of ``folder`` (``flag`` names it in messages) while the block runs.

    With ``create``, a missing folder is made for the lock and removed again if the run left it empty
    (a run refused before training writes nothing). A folder that cannot be made or is not a folder is
    left to the caller's own checks, which name the problem. ``outputs``: the file names a run writes,
    whose temporary files are removed.
    """
    made = False
    if not folder.is_dir():
        if not create or folder.exists():
            yield
            return
        try:
            folder.mkdir(parents=True)
            made = True
        except OSError:
            yield
            return
    lock = folder / NAME
    try:
        _acquire(lock, folder, flag)
        _remove_temporaries(folder, outputs)
        yield
    finally:
        _release(lock)
        if made:
            try:
                folder.rmdir()  # only if empty: a refused or failed run leaves no folder behind
            except OSError:
                pass


def _acquire(lock: Path, folder: Path, flag: str) -> None:
    for _ in range(3):  # a stale lock removed, then made again; a third collision is another live run
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _holder(lock)
            if pid is None:
                raise ChainruleError(
                    f"{flag} {folder}: locked by another run ({lock} names no process); "
                    "if no run is writing there, remove that file"
                ) from None
            if _alive(pid):
                raise ChainruleError(
                    f"{flag} {folder}: another chainrule train (PID {pid}) is writing to this "
                    "folder; wait for it to finish, or give another folder"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone (killed mid-run)
            continue
        except OSError as e:  # e.g. a read-only folder: say so now, not after an epoch of training
            raise ChainruleError(f"{flag} {folder}: cannot write here: {e.strerror}") from None
        try:
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as e:  # a full disk: the lock holds no PID, so remove it
            lock.unlink(missing_ok=True)
            raise ChainruleError(f"{flag} {folder}: {cannot_write(lock, e)}") from None
        return
    raise ChainruleError(f"{flag} {folder}: another run keeps taking its lock ({lock}); give another folder")


def _holder(lock: Path) -> int | None:
    """The PID in ``lock``; None if it holds none (being written this instant, or damaged)."""
    try:
        text = lock.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return 0  # released meanwhile: try again (PID 0 is never alive here)
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():  # our own PID left in a lock is a killed earlier life of this PID
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _release(lock: Path) -> None:
    if _holder(lock) == os.getpid():  # never remove a lock another run took over
        lock.unlink(missing_ok=True)


def _remove_temporaries(folder: Path, outputs: tuple[str, ...]) -> None:
    for path in folder.iterdir():
        m = _TEMPORARY.match(path.name)
        if m and m["name"] in outputs and path.is_file():
            path.unlink(missing_ok=True)
