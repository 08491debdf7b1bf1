"""How much of a data file is read, and which numbers it may hold, decided before reading or computing.

Sizes come from the format where it states them (an IDX header's dimensions, an NPZ member's ``.npy``
header) and are checked against the memory available (``core.memory``) before anything is allocated.
CSV states none, so the text read is capped: parsing holds the text, its lines and the numbers at once,
about ``CSV_EXPANSION`` times the text's size, and never more than ``MAX_CSV_BYTES``.

Values: a finite number as large as 1e308 still overflows the arithmetic done on it (its square in a
standard deviation, a weighted sum in the first layer), which would surface as NumPy warnings and a
"diverged" run blamed on the network. Features and targets must lie within ±MAX_MAGNITUDE, whose square
summed over 10⁸ terms still fits in float64 (1e150² · 1e8 = 1e308).
"""

import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from chainrule.core import memory
from chainrule.errors import ChainruleError

CSV_EXPANSION = 8
MAX_CSV_BYTES = 4 << 30  # 4 GiB of text: far beyond what this engine trains on in memory
MAX_MAGNITUDE = 1e150


def csv_limit() -> int:
    """The most bytes of CSV text read into memory."""
    have = memory.available_bytes()
    return MAX_CSV_BYTES if have is None else min(MAX_CSV_BYTES, have // CSV_EXPANSION)


def check_array_size(path: "str | Path", what: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Before reading an array whose header says ``shape`` and ``dtype``."""
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    memory.check_fits(
        nbytes * 2,  # the array as read, and its float64 copy
        f"{path}: {what} of shape {'×'.join(map(str, shape))} ({np.dtype(dtype).name}) and its float64 copy",
        "is this the right file?",
    )


def check_npz_members(path: "str | Path", names: tuple[str, ...] = ("X", "y")) -> None:
    """Each array's size from its ``.npy`` header inside the zip, checked before NumPy allocates it.

    A zip's directory is at its end, so the file must be a regular one (zipfile reads a device such as
    /dev/zero until memory runs out). A file that is not a zip, or a member whose header cannot be read,
    is left to ``np.load``, whose error the loader words.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ChainruleError(f"{path}: not a regular file (a device or a pipe?); an .npz is a zip archive on disk")
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return
        with zipfile.ZipFile(path) as z:
            for name in names:
                if f"{name}.npy" not in z.namelist():
                    continue
                with z.open(f"{name}.npy") as member:
                    version = np.lib.format.read_magic(member)
                    if version not in ((1, 0), (2, 0)):
                        continue
                    fmt = np.lib.format
                    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = read(member)
                check_array_size(path, f"array {name!r}", shape, dtype)
    except ChainruleError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError):
        return


def check_magnitude(X: np.ndarray, source: str, where, column) -> None:
    """Refuse values beyond ±MAX_MAGNITUDE, naming the first one's example and column.

    X : (n, k) finite values; ``where(i)`` names example i ("line 4"), ``column(j)`` column j ("column 3").
    """
    big = np.abs(X) > MAX_MAGNITUDE
    if big.any():
        i, j = (int(v) for v in np.argwhere(big)[0])
        raise ChainruleError(
            f"{source}: {where(i)}, {column(j)}: {X[i, j]:.6g} is too large to compute with; values beyond "
            f"±{MAX_MAGNITUDE:.0e} overflow float64 arithmetic (a square, a weighted sum): rescale that column"
        )
