"""The "Update" section (--lr η): every parameter's new value after the engine's SGD step,
w⁺ = w − η · ∂ℓ/∂w with the numbers, and with --steps K the loss after each of K steps.

The new values are the optimizer's (``Pass.update`` ran ``optim.SGD``); this module writes them.
Dense layers are written in the folded notation (α⁺ⱼ,ᵢ, column 0 the bias), convolutions as F⁺ and B⁺.
"""

from typing import Any

import numpy as np

from chainrule.explain.doc import ELL, Equations, Heading, Mat, Num, Op, Prose, Row, Sym, d, product
from chainrule.explain.json_layers import folded_updated
from chainrule.explain.map_names import first_cells, more_note
from chainrule.explain.network_pass import Pass
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules import batchnorm
from chainrule.nn.batchnorm import _BatchNorm
from chainrule.nn.conv import Conv2d
from chainrule.nn.linear import Linear

ETA = Sym("η", r"\eta")
_SUBS = set("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖ,")


def plus(s: Sym) -> Sym:
    """The updated value's symbol: α₁,₁ -> α⁺₁,₁, α⁽²⁾₁,₀ -> α⁽²⁾⁺₁,₀ (qid alpha2+[1,0])."""
    t = s.text
    k = len(t)
    while k > 0 and t[k - 1] in _SUBS:
        k -= 1
    text = t[:k] + "⁺" + t[k:]
    lx, sub = (s.latex.split("_{", 1) + [""])[:2] if "_{" in s.latex else (s.latex, "")
    lx = lx[:-1] + "+}" if lx.endswith(")}") else lx + "^{+}"
    return Sym(text, lx + ("_{" + sub if sub else ""))


def _row(w: Sym, value: float, grad: float, new: float, lr: float) -> tuple:
    return (
        plus(w),
        Row(w, Op.MINUS, ETA, Op.TIMES, d(ELL, w)),
        Row(Num(value), Op.MINUS, product(Num(lr), Num(grad))),
        Num(new),
    )


def _dense(n: Any, r: LayerRecord, s: int, lr: float) -> list:
    """Stage s's folded weights: W⁺ⱼ,ᵢ = Wⱼ,ᵢ − η ∂ℓ/∂Wⱼ,ᵢ (i = 0 the bias), n the dense notation."""
    W = n.weight(s)
    w, b = r.params["weight"], r.params.get("bias")
    rows = []
    for j in range(w.value.shape[0]):
        for i in range(0 if b is not None else 1, w.value.shape[1] + 1):
            p, at = (b, (j,)) if i == 0 else (w, (j, i - 1))
            assert p is not None and p.updated is not None  # i = 0 only with a bias; a step was taken
            rows.append(_row(W.el(j + 1, i), p.value[at], p.grad[at], p.updated[at], lr))
    folded = folded_updated(r)
    assert folded is not None  # a step was taken (--lr)
    return [Equations(rows), Equations([(plus(W.vec()), Mat(folded))])]


def _conv(expl: Any, r: LayerRecord, lr: float) -> list:
    F, B = expl.names.kernels[r.index], expl.names.biases[r.index]
    w = r.params["weight"]
    assert w.updated is not None  # a step was taken (--lr)
    rows = []
    shape = w.value.shape
    for o, c in np.ndindex(*shape[:2]):
        for u, v in [cell[1:] for cell in first_cells((1, *shape[2:]), expl.cells)]:
            at = (o, c, u, v)
            rows.append(_row(F.el(*at), w.value[at], w.grad[at], w.updated[at], lr))
    if "bias" in r.params:
        b = r.params["bias"]
        assert b.updated is not None
        rows += [_row(B.el(o), b.value[o], b.grad[o], b.updated[o], lr) for o in range(shape[0])]
    blocks: list = [Equations(rows)]
    note = more_note(shape, expl.cells, "kernel cells")
    blocks += [note] if note else []
    full = [(plus(F.map(o, c)), Mat(w.updated[o, c])) for o, c in np.ndindex(*shape[:2])]
    return blocks + [Equations(full)]


def _batchnorm(p: Pass, r: LayerRecord, lr: float) -> list:
    """γ⁺ⱼ = γⱼ − η ∂ℓ/∂γⱼ and δ⁺ⱼ likewise (numbered as rules/batchnorm.py numbers them)."""
    same = [q.index for q in p.records if isinstance(q.layer, _BatchNorm)]
    _, _, g, dl = batchnorm.params(same.index(r.index) + 1 if len(same) > 1 else None)
    rows = []
    for name, var in (("weight", g), ("bias", dl)):
        w = r.params[name]
        assert w.updated is not None  # a step was taken (--lr)
        rows += [_row(var.el(j + 1), w.value[j], w.grad[j], w.updated[j], lr) for j in range(w.value.shape[0])]
    return [Equations(rows)]


def section(expl: Any) -> list:
    """The Update blocks of an explanation whose pass took a step (none without --lr)."""
    p: Pass = expl.p
    if p.lr is None:
        return []
    blocks: list = [
        Heading(f"Update: one SGD step, learning rate {p.lr:g}"),
        Prose(
            "Every parameter moves against its gradient: ",
            Row(Sym("w⁺", "w^{+}"), Op.EQ, Sym("w", "w"), Op.MINUS, ETA, Op.TIMES, d(ELL, Sym("w", "w"))),
            ", with ",
            Row(ETA, Op.EQ, Num(p.lr)),
            ".",
        ),
    ]
    s = 0
    for r in p.records:
        if isinstance(r.layer, Linear):
            s += 1
            blocks += [Prose(f"Layer {r.index} ({r.type}):"), *_dense(expl.dense_notation, r, s, p.lr)]
        elif isinstance(r.layer, Conv2d):
            blocks += [Prose(f"Layer {r.index} ({r.type}):"), *_conv(expl, r, p.lr)]
        elif isinstance(r.layer, _BatchNorm) and r.params:
            blocks += [Prose(f"Layer {r.index} ({r.type}):"), *_batchnorm(p, r, p.lr)]
    if p.step_losses:
        k = len(p.step_losses)
        blocks.append(Prose(f"{k} SGD step(s) on this example; the loss after each:"))
        blocks.append(
            Equations(
                [
                    (Sym(f"ℓ after step {i}", rf"\ell \text{{ after step {i}}}"), Num(v))
                    for i, v in enumerate(p.step_losses, start=1)
                ]
            )
        )
    return blocks


def json(p: Pass) -> dict:
    """The learning rate and the losses after each step, for ``--format json`` (empty without --lr)."""
    if p.lr is None:
        return {}
    return {"lr": p.lr, **({"step_losses": [float(v) for v in p.step_losses]} if p.step_losses else {})}
