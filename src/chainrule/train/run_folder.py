"""The run folder (--out): the files a run writes there, checked before training, and what a failed run left."""

from pathlib import Path

from chainrule.errors import ChainruleError
from chainrule.train import checkpoint as ckpt
from chainrule.train import preflight

OUTPUTS = ("model.safetensors", ckpt.NAME, "metrics.json", "metrics.csv", "learning-curves.png")


def check_out_dir(out: Path | None, overwrite: bool) -> None:
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise ChainruleError(f"--out {out}: exists and is not a folder")
    above = next(p for p in out.absolute().parents if p.exists())  # the folder --out will be made in
    if not out.exists() and not above.is_dir():
        raise ChainruleError(f"--out {out}: cannot be made, {above} is a file, not a folder")
    for name in OUTPUTS:
        if (out / name).is_dir():
            raise ChainruleError(f"--out {out}: {name} there is a folder; a run writes a file by that name")
    if (out / ckpt.NAME).exists() and not overwrite:
        raise ChainruleError(
            f"--out {out}: already holds a run; continue it with --resume {out}, or pass --overwrite to start over"
        )
    preflight.check_out_writable(out)


def what_is_kept(out: Path | None, epoch: int) -> str:
    """What a diverged run left: the checkpoint of the end of ``epoch`` (0-based: the last good one)."""
    if out is None:
        return "; nothing was saved (no --out DIR)"
    if epoch:
        return f"; the last good checkpoint (end of epoch {epoch}) is kept in {out}"
    return "; no epoch ended well, so nothing was saved"
