"""Model files: safetensors, weights under PyTorch's key names, architecture as JSON metadata.

Never pickle. Writes are atomic (temporary file in the same folder, then rename), so a crash or a
full disk never leaves a half-written model where a good one was.
"""

import json
import os
from pathlib import Path

import numpy as np

from chainrule.core.memory import check_fits
from chainrule.errors import ChainruleError
from chainrule.files import atomic_write_bytes, open_binary
from chainrule.nn.module import Module

FORMAT = "chainrule"
VERSION = 1


def write_safetensors(path: "str | os.PathLike", tensors: dict, key: str, meta: dict) -> None:
    """Atomically write ``tensors`` (name -> array) with ``meta`` as JSON under the metadata ``key``."""
    from safetensors.numpy import save

    arrays = {k: np.require(v, requirements="C") for k, v in tensors.items()}  # keeps 0-d arrays 0-d
    atomic_write_bytes(path, save(arrays, metadata={key: json.dumps(meta)}))


def read_safetensors(path: "str | os.PathLike", what: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors of ``path`` and its ``__metadata__`` (key -> JSON text, as written by write_safetensors).

    A file that cannot be read is a ChainruleError naming ``what`` it should be; a damaged one raises
    SafetensorError or ValueError, which the caller words for the kind of file it expected.
    """
    from safetensors.numpy import load

    raw = _read_declared(Path(path), what)
    return load(raw), _metadata(raw)


MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header


def _read_declared(path: Path, what: str) -> bytes:
    """The bytes of a safetensors file, as many as its header declares (8-byte length, JSON header,
    then the tensors up to the last ``data_offsets``): their size is checked against the memory
    available before they are read, so /dev/zero or a header claiming terabytes is refused by name."""
    with open_binary(path, what) as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("file is shorter than a safetensors header")
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER:
            raise ValueError(f"header length {n:,} is beyond safetensors' limit of {MAX_HEADER:,} bytes")
        header = f.read(n)
        if len(header) < n:
            raise ValueError("header length runs past the end of the file")
        try:
            entries = json.loads(header)
            end = max((int(v["data_offsets"][1]) for k, v in entries.items() if k != "__metadata__"), default=0)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            raise ValueError(f"the header is not safetensors' JSON ({type(e).__name__}: {e})") from None
        check_fits(end, f"{path}: its tensors ({end:,} bytes by its header)", "is this the right file?")
        data = f.read(end)
        if len(data) == end and f.read(1):
            raise ValueError("the file runs on past the tensors its header lists")
    return head + header + data


def save_model(path: "str | os.PathLike", model: Module, extra: dict | None = None) -> None:
    """Write ``model`` (weights + architecture) and optional JSON-able ``extra`` metadata to ``path``."""
    header = {"format": FORMAT, "version": VERSION, "architecture": model.to_config(), "extra": extra or {}}
    write_safetensors(path, model.state_dict(), FORMAT, header)


def load_model(path: "str | os.PathLike") -> tuple[Module, dict]:
    """The model in ``path`` and its ``extra`` metadata; a clear error for anything else."""
    from safetensors import SafetensorError

    path = Path(path)
    if path.is_dir() and (path / "model.safetensors").is_file():  # a run folder, as chainrule train --out wrote it
        raise ChainruleError(f"{path}: is a run folder, not a model file; give {path / 'model.safetensors'}")
    try:
        tensors, meta = read_safetensors(path, "a model file")
    except ChainruleError:  # could not be read at all: open_binary's message says why
        raise
    except (SafetensorError, ValueError, json.JSONDecodeError) as e:
        raise ChainruleError(
            f"{path}: not a readable safetensors model file (truncated or corrupt?): "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    if FORMAT not in meta and "chainrule-checkpoint" in meta:  # train/checkpoint.py's FORMAT (a layer above)
        raise ChainruleError(
            f"{path}: a training checkpoint (for --resume), not a model file; give the run's model.safetensors"
        )
    if FORMAT not in meta:
        raise ChainruleError(f"{path}: a safetensors file, but not a chainrule model (no architecture metadata)")
    try:
        header = json.loads(meta[FORMAT])
        model = Module.from_config(header["architecture"])
    except ChainruleError as e:  # e.g. a layer type this version does not know, a layer too large for memory
        raise ChainruleError(f"{path}: {e}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:  # JSONDecodeError is a ValueError
        raise ChainruleError(f"{path}: chainrule metadata is damaged ({type(e).__name__}: {e})") from None
    _check_numbers(path, tensors, model)
    try:
        model.load_state_dict(tensors)
    except ChainruleError as e:
        raise ChainruleError(f"{path}: {e}") from None
    return model, header.get("extra", {})


def _check_numbers(path: Path, tensors: dict[str, np.ndarray], model: Module) -> None:
    """Refuse, naming the tensor, weights that are not finite floating-point numbers.

    Every command that reads a model file (predict, evaluate, export, ...) comes through here, so a
    NaN or an infinity is refused once, before it could print NaN predictions with exit status 0.
    An integer tensor is refused too, unless the network's own entry is an integer (a counter such
    as BatchNorm's num_batches_tracked): copying it into float weights would hide a damaged file.
    """
    own = {**{k: p.data for k, p in model.named_parameters()}, **dict(model.named_buffers(persistent_only=True))}
    for key, value in tensors.items():
        target = own.get(key)
        if target is None:  # an unexpected key: load_state_dict names it
            continue
        if value.dtype.kind != "f" and target.dtype.kind == "f":
            raise ChainruleError(
                f"{path}: tensor {key!r} has dtype {value.dtype}; weights must be floating point (float32 or float64)"
            )
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad = value[~np.isfinite(value)]
            kinds = " and ".join(
                w
                for w, n in (
                    ("NaN", np.isnan(bad).sum()),
                    ("+inf", (bad == np.inf).sum()),
                    ("-inf", (bad == -np.inf).sum()),
                )
                if n
            )
            raise ChainruleError(
                f"{path}: tensor {key!r} holds {kinds} ({bad.size} of {value.size} values); "
                "a model's weights must be finite numbers"
            )


def _metadata(raw: bytes) -> dict:
    """The ``__metadata__`` of a safetensors byte string (8-byte little-endian length, then JSON)."""
    if len(raw) < 8:
        raise ValueError("file is shorter than a safetensors header")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8:
        raise ValueError("header length runs past the end of the file")
    return json.loads(raw[8 : 8 + n]).get("__metadata__", {}) or {}
