"""Reading and writing the user's files: one clear error naming the path, and writes that never
leave a half-written file where a good one was (temporary file in the same folder, then rename).
"""

import errno
import gzip
import os
import shutil
import stat
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from chainrule.core.memory import format_bytes
from chainrule.errors import ChainruleError


def read_bytes(
    path: "str | os.PathLike",
    what: str,
    gunzip: bool = False,
    limit: int | None = None,
    text: str | None = None,
) -> bytes:
    """The bytes of ``path`` (``what`` it should be, e.g. "a CSV file", for the error message);
    with ``gunzip``, a gzip file (recognised by its magic bytes, not its name) is decompressed.

    ``limit``: refuse (naming the file) more than this many bytes, decompressed, before holding them
    (a regular file by its size, anything else, e.g. /dev/zero or a pipe, as the bytes arrive).
    ``text`` (e.g. "CSV"): a text format, so a NUL byte refuses the file as soon as it is read.
    """
    path = Path(path)
    with open_binary(path, what, gunzip) as f:
        return read_at_most(f, path, what, limit, text)


@contextmanager
def open_binary(path: "str | os.PathLike", what: str, gunzip: bool = False) -> Iterator[BinaryIO]:
    """``path`` opened for reading (decompressed when ``gunzip`` and it is a gzip file), with errors
    while opening or reading it worded as one line naming it."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except IsADirectoryError:
        raise ChainruleError(f"{path}: is a folder, not {what}") from None
    except OSError as e:
        raise ChainruleError(f"{path}: cannot read: {reason(e)}") from None
    with f:
        zipped = gunzip and f.peek(2)[:2] == b"\x1f\x8b"
        try:
            yield gzip.GzipFile(fileobj=f) if zipped else f  # type: ignore[misc]
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            if not zipped:
                raise
            raise ChainruleError(f"{path}: a damaged or truncated gzip file ({e})") from None
        except OSError as e:
            raise ChainruleError(f"{path}: cannot read: {reason(e)}") from None


def read_at_most(f: BinaryIO, path: Path, what: str, limit: int | None, text: str | None = None) -> bytes:
    """All of ``f`` (see read_bytes for ``limit`` and ``text``)."""
    if limit is not None and hasattr(f, "fileno"):
        st = os.fstat(f.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise ChainruleError(f"{path}: too large for {what}: {format_bytes(st.st_size)}; {_limit(limit)}")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = f.read(CHUNK if limit is None else min(CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        if text is not None and b"\0" in chunk:
            raise ChainruleError(f"{path}: not a text file (is it really {text}?)")
        chunks.append(chunk)
        total += len(chunk)
        if limit is not None and total > limit:
            raise ChainruleError(
                f"{path}: too large for {what}: it gave more than {format_bytes(limit)} (an endless device or "
                f"pipe?); {_limit(limit)}"
            )


CHUNK = 1 << 20


def _limit(limit: int) -> str:
    return f"at most {format_bytes(limit)} is read into memory"


def reason(e: OSError) -> str:
    """Why ``e`` happened, in words a user acts on (a loop of symbolic links is named as such)."""
    if e.errno == errno.ELOOP:
        return "a loop of symbolic links (each link leads back to another)"
    return e.strerror or str(e)


def missing(path: "str | os.PathLike") -> str:
    """What is wrong with a ``path`` that does not exist: no such file, a dangling link, or a link loop."""
    p = Path(path)
    if not p.is_symlink():
        return f"{p}: no such file"
    try:
        os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"{p}: {reason(e)}"
    return f"{p}: a symbolic link to {os.readlink(p)}, which does not exist"


def atomic_write_bytes(path: "str | os.PathLike", data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old file or the whole new one.

    A full disk, a quota, a read-only file system or a refused permission is one line naming ``path``
    and the free space there; the old file is left as it was and the temporary one removed.
    """
    path = Path(path)
    check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:  # e.g. a read-only folder: name the user's path, not the temporary one
        raise ChainruleError(cannot_write(path, e)) from None
    try:
        # mkstemp makes the file private (0600); give it the mode open() would (0666 minus the umask),
        # so a model or ONNX file can be read by whoever serves it
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in DISK_ERRORS:
            raise ChainruleError(cannot_write(path, e)) from None
        raise


# what a user fixes by freeing space, raising a quota, remounting or changing permissions
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)


def cannot_write(path: "str | os.PathLike", e: OSError) -> str:
    """'model.safetensors: cannot write: No space left on device (12.0 KiB free on that file system;
    the file there is unchanged)'."""
    path = Path(path)
    try:
        free = f"{format_bytes(shutil.disk_usage(path.parent or '.').free)} free on that file system"
    except OSError:
        free = "free space unknown"
    kept = "the file there is unchanged" if path.exists() else "nothing was written"
    return f"{path}: cannot write: {e.strerror or e} ({free}; {kept})"


def check_writable(path: "str | os.PathLike") -> None:
    """A clear error, naming ``path``, if a file cannot be written there (a folder, or no such folder)."""
    path = Path(path)
    parent = path.parent
    if path.is_dir():
        raise ChainruleError(f"{path}: is a folder; expected a file name to write to")
    if not parent.is_dir():
        raise ChainruleError(
            f"{path}: cannot write here: {'no such folder' if not parent.exists() else 'not a folder'}: {parent}"
        )


def refuse_overwrite(path: "str | os.PathLike", flag: str, inputs: dict) -> None:
    """An error if the output ``path`` is one of the command's own inputs (arguments mixed up).

    inputs : what each input is ("input file x.toml", "model file itself", …) -> its path (or None).
    """
    if not os.path.exists(path):
        return
    for what, given in inputs.items():
        if given and os.path.exists(given) and os.path.samefile(given, path):
            raise ChainruleError(f"{flag} {path}: that is the {what}; writing there would overwrite it")


def write_output(path: "str | os.PathLike", data: "str | bytes", flag: str, inputs: dict | None = None) -> None:
    """A command's output file (``-o``, ``--out``): named errors, never over one of its ``inputs``,
    written atomically; a device or pipe (``/dev/stdout``) is written through, never replaced."""
    if not os.fspath(path):  # an unset shell variable: Path("") would be the current folder
        raise ChainruleError(f"{flag} '': an empty file name; give a file name")
    if os.path.isdir(path):
        raise ChainruleError(f"{flag} {path}: is a folder; give a file name")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise ChainruleError(f"{flag} {path}: no such folder: {parent} does not exist")
    refuse_overwrite(path, flag, inputs or {})
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "wb") as f:
            f.write(raw)
        return
    atomic_write_bytes(path, raw)
