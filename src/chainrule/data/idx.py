"""IDX files (MNIST's format), gzipped or not.

Header: two zero bytes, a type byte (0x08 = unsigned byte … 0x0E = float64), the number of
dimensions, then each dimension as a big-endian uint32; then the data, big-endian, row-major.
MNIST's images file is 0x00000803 (n × 28 × 28 ubyte), its labels file 0x00000801 (n ubyte).
"""

from pathlib import Path

import numpy as np

from chainrule.data.dataset import Dataset, check_features, check_targets
from chainrule.data.limits import check_array_size
from chainrule.errors import ChainruleError
from chainrule.files import open_binary

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: "str | Path") -> np.ndarray:
    """The array stored in one IDX file (gzip detected from its magic bytes, not its name).

    The header's dimensions say how many bytes follow: only that many are read, after checking that
    they fit in memory, so /dev/zero or a damaged header is refused without reading on.
    """
    path = Path(path)
    with open_binary(path, "an IDX file", gunzip=True) as f:
        raw = f.read(4)
        if len(raw) < 4:
            raise ChainruleError(f"{path}: only {len(raw)} bytes; too short for an IDX header")
        magic = int.from_bytes(raw[:4], "big")
        kind, ndim = raw[2], raw[3]
        if raw[:2] != b"\0\0" or kind not in TYPES or ndim == 0:
            raise ChainruleError(
                f"{path}: magic number 0x{magic:08X} is not an IDX header; expected "
                "0x00000801 (labels) or 0x00000803 (images), or another 0x0000TTDD IDX type"
            )
        head = 4 + 4 * ndim
        raw += f.read(head - 4)
        if len(raw) < head:
            raise ChainruleError(f"{path}: truncated header (needs {head} bytes, file has {len(raw)})")
        shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        dtype = np.dtype(TYPES[kind])
        check_array_size(path, "the header's array", shape, dtype)
        need = int(np.prod(shape, dtype=object)) * dtype.itemsize
        data = f.read(need)
        longer = bool(f.read(1))
    have = len(data)
    if longer:
        raise ChainruleError(
            f"{path}: data longer than its header says: header says shape {'×'.join(map(str, shape))} "
            f"({need} bytes), the file holds more after the header"
        )
    if have != need:
        raise ChainruleError(
            f"{path}: data truncated: header says shape {'×'.join(map(str, shape))} "
            f"({need} bytes), the file holds {have} bytes after the header"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def labels_path_for(images: "str | Path") -> Path | None:
    """MNIST's naming: ``train-images-idx3-ubyte.gz`` → ``train-labels-idx1-ubyte.gz`` (None if absent)."""
    images = Path(images)
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    candidate = images.with_name(name)
    return candidate if candidate != images and candidate.exists() else None


def is_idx_name(path: "str | Path") -> bool:
    name = Path(path).name.lower().removesuffix(".gz")
    return "idx" in name and ("ubyte" in name or name.endswith(".idx"))


def load_idx(
    images: "str | Path", labels: "str | Path | None" = None, task: str = "classification", labelled: bool = True
) -> Dataset:
    """Images (n, H, W) → X (n, 1, H, W) (one channel); labels (n,) from the labels file."""
    X = read_idx(images)
    if X.ndim == 3:
        X = X[:, None]  # one channel: (n, 1, H, W), PyTorch's NCHW
    elif X.ndim < 2:
        raise ChainruleError(
            f"{images}: holds a {X.ndim}-D array of shape {X.shape}; expected images "
            "(n × H × W) or feature rows (n × d); is this the labels file?"
        )
    X = check_features(X, str(images))
    y = None
    if labelled:
        if labels is None:
            labels = labels_path_for(images)
            if labels is None:
                raise ChainruleError(
                    f"{images}: no labels file next to it (looked for MNIST's "
                    f"'{Path(images).name.replace('images', 'labels').replace('idx3', 'idx1')}'); "
                    "name one with --train-labels / --validation-labels / --labels"
                )
        y = read_idx(labels)
        if y.shape[0] != X.shape[0]:
            raise ChainruleError(
                f"{labels}: {y.shape[0]} labels, but {images} holds {X.shape[0]} images; the counts must match"
            )
        y = check_targets(y if task == "regression" or y.ndim == 1 else y.reshape(len(y), -1), task, str(labels))
    return Dataset(X, y, task, str(images))
