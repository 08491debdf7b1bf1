"""Writing an exercise (or N variants, one per student) into a folder.

Variant v of seed S draws from ``numpy.random.default_rng(SeedSequence(S).spawn(N)[v])``: the same seed
gives the same bytes, and variant v does not depend on how many others are drawn after it.
For one exercise the files are ``exercise.toml``, ``questions.md`` / ``.tex``, ``key.md`` / ``.tex``,
``answers.txt`` (a template) and ``key-answers.txt`` (the key's values); variants get ``-1``, ``-2`` …
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainrule.exercise import draw, sheets
from chainrule.files import atomic_write_bytes


@dataclass
class Request:
    kind: str = "dense"
    sizes: tuple[int, ...] = (2, 3, 1)
    activation: str = "tanh"
    loss: str = "squared"
    decimal: bool = False
    size: tuple[int, int] | None = None
    kernel: int | None = None
    stride: int | None = None
    padding: int | None = None


def draw_one(req: Request, rng: np.random.Generator) -> dict:
    if req.kind == "dense":
        return draw.draw_dense(rng, list(req.sizes), req.activation, req.loss, req.decimal)
    if req.kind == "conv":
        return draw.draw_conv(rng, req.size or (4, 4), req.kernel or 3, req.stride or 1, req.padding or 0, req.decimal)
    return draw.draw_shape(rng, req.size, req.kernel, req.stride, req.padding)


def variants(req: Request, seed: int, n: int) -> list[dict]:
    out: list[dict] = []
    for child in np.random.SeedSequence(seed).spawn(n):
        rng = np.random.default_rng(child)
        data = draw_one(req, rng)
        while data in out:  # one version per student: never the same numbers twice
            data = draw_one(req, rng)
        out.append(data)
    return out


def files_for(data: dict, title: str, stem: str, standalone: bool) -> dict[str, str]:
    """file name -> contents of one exercise."""
    p = sheets.problem(data)
    spec = f"exercise{stem}.toml"
    return {
        spec: sheets.spec_toml(data, title),
        f"questions{stem}.md": sheets.questions(data, p, title, "markdown"),
        f"questions{stem}.tex": sheets.questions(data, p, title, "latex", standalone),
        f"key{stem}.md": sheets.key(p, "markdown"),
        f"key{stem}.tex": sheets.key(p, "latex", standalone),
        f"answers{stem}.txt": sheets.answers_template(p, spec),
        f"key-answers{stem}.txt": sheets.key_answers(p, spec),
    }


def write_exercises(req: Request, seed: int, n: int, folder: str, standalone: bool = False) -> list[Path]:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for v, data in enumerate(variants(req, seed, n), start=1):
        stem = f"-{v}" if n > 1 else ""
        title = f"Exercise ({req.kind}, seed {seed}" + (f", variant {v})" if n > 1 else ")")
        for name, text in files_for(data, title, stem, standalone).items():
            atomic_write_bytes(out / name, text.encode("utf-8"))
            written.append(out / name)
    return written
