"""Reading and writing the user's files: one clear error naming the path, and writes that never
leave a half-written file where a good one was (temporary file in the same folder, then rename).
"""

import gzip
import os
import tempfile
import zlib
from pathlib import Path

from chainrule.errors import ChainruleError


def read_bytes(path: "str | os.PathLike", what: str, gunzip: bool = False) -> bytes:
    """The bytes of ``path`` (``what`` it should be, e.g. "a CSV file", for the error message);
    with ``gunzip``, a gzip file (recognised by its magic bytes, not its name) is decompressed.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ChainruleError(f"{path}: is a folder, not {what}") from None
    except OSError as e:
        raise ChainruleError(f"{path}: cannot read: {e.strerror}") from None
    if gunzip and raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ChainruleError(f"{path}: a damaged or truncated gzip file ({e})") from None
    return raw


def atomic_write_bytes(path: "str | os.PathLike", data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old file or the whole new one."""
    path = Path(path)
    check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:  # e.g. a read-only folder: name the user's path, not the temporary one
        raise ChainruleError(f"{path}: cannot write here: {e.strerror}") from None
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
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
