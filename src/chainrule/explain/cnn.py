"""Explaining a network with an image part: Conv2d, pooling, activations on maps, Flatten, then dense
layers, on one example given as C×H×W (or H×W for one channel).

The engine runs once over the whole network (``network_pass``, on a batch of one); each image layer's
rule (``rules/conv.py``, ``pool.py``, ``flatten.py``, ``map_activations.py``) writes its forward and
backward cells from that layer's record. The dense part after Flatten is the existing dense derivation
(``derive.Deriver``) on the engine's pass of those layers, whose input x is the flattened vector; its
∂ℓ/∂x, which a dense network never prints, is written here, then the image layers backward.
A network of image layers only (the recitation's section 4.2 convolution) ends in a loss on its map.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from chainrule.errors import ChainruleError
from chainrule.explain import update
from chainrule.explain.derive import Deriver
from chainrule.explain.doc import (
    ELL,
    HALF,
    Document,
    Equations,
    Frac,
    Heading,
    Mat,
    Node,
    Num,
    Op,
    Paren,
    Power,
    Prose,
    Row,
    Sym,
    d,
    joined,
    product,
)
from chainrule.explain.explanation import Explanation
from chainrule.explain.json_layers import layers_json
from chainrule.explain.map_names import MapContext, MapNames, MapRule, MapVar, first_cells, more_note
from chainrule.explain.network_pass import Pass, flat_layers, run_pass
from chainrule.explain.notation import Notation
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.record import LayerRecord
from chainrule.explain.rules import batchnorm, conv, flatten, loss_rule_for, map_activations, pool, rule_for
from chainrule.explain.trace import Trace, default_loss, run
from chainrule.nn.activations import Activation
from chainrule.nn.batchnorm import BatchNorm2d, _BatchNorm
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss, Loss, MSELoss
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d

IMAGE_RULES: dict[type[Module], MapRule] = {
    Conv2d: conv,
    MaxPool2d: pool,
    AvgPool2d: pool,
    Flatten: flatten,
    BatchNorm2d: batchnorm,
}


def is_image_network(net: object) -> bool:
    return isinstance(net, Sequential) and any(type(m) in IMAGE_RULES for m in flat_layers(net))


def front_length(layers: list[Module]) -> int:
    """How many layers make the image part (through the last Flatten); one clear error for a layer
    that cannot be written where it stands."""
    for i, m in enumerate(layers):
        rule_for(m, i)  # a layer explain has no rule for: named, with the reason
    flats = [i for i, m in enumerate(layers) if isinstance(m, Flatten)]
    front = flats[-1] + 1 if flats else len(layers)
    for i, m in enumerate(layers[:front]):
        if isinstance(m, Linear):
            raise ChainruleError(
                f"layer {i} is Linear before Flatten: explain writes Linear layers on the flattened vector "
                "(put a Flatten before it)"
            )
        if isinstance(m, Activation):
            map_activations.check(m, i)
        elif isinstance(m, BatchNorm2d):
            batchnorm.check(m, i)
        elif type(m) not in IMAGE_RULES:  # a dense-only rule (Dropout): never a map's rule borrowed
            raise ChainruleError(
                f"layer {i} is {type(m).__name__} on a map: explain writes it in the dense part (after Flatten)"
            )
    for i, m in enumerate(layers[front:], start=front):
        if type(m) in IMAGE_RULES:
            raise ChainruleError(f"layer {i} is {type(m).__name__} after Flatten: the dense part takes a vector")
    return front


def _image(given: ArrayLike) -> np.ndarray:
    """(C, H, W) float64 from an image H×W, C×H×W or a batch of one 1×C×H×W."""
    try:
        x = np.asarray(given, dtype=np.float64)
    except (TypeError, ValueError):
        raise ChainruleError(f"x must be an image (a nested list of numbers), got {given!r}") from None
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]  # a batch of one, as PyTorch code writes it
    if x.ndim == 2:
        x = x[None]  # H×W: one channel
    if x.ndim != 3:
        raise ChainruleError(f"explain works on one image, C×H×W or H×W; x has shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ChainruleError("x contains NaN or infinity")
    return x


def explain_image_network(
    net: Sequential,
    x: ArrayLike,
    y: ArrayLike | None,
    loss: Loss | None,
    fmt: NumberFormat,
    round_fn: Callable[[np.ndarray], np.ndarray] | None,
    form: str,
    wrt: str | None,
    check: bool,
    lr: float | None,
    steps: int,
    cells: int,
) -> "CnnExplanation":
    """``explain`` for a network with an image part (``net`` is already the explainer's copy); the
    arguments are ``explain``'s (``round_fn`` the format's rounding with --round-each-step)."""
    layers = flat_layers(net)
    front = front_length(layers)
    if wrt is not None:
        raise ChainruleError(f"--wrt {wrt!r}: explain writes one weight's chain for dense networks only")
    loss = default_loss(Sequential(*layers)) if loss is None else loss
    loss_rule_for(loss)  # one line naming a loss explain cannot write
    if front == len(layers) and isinstance(loss, CrossEntropyLoss):
        raise ChainruleError("cross-entropy needs Linear layers after Flatten (the logits); this network ends in a map")
    image = _image(x)
    if y is None:
        raise ChainruleError("explain needs a target y (got None)")
    try:
        Sequential(*layers).output_shape(image.shape)
    except ChainruleError as e:
        raise ChainruleError(f"x has shape {image.shape}: {e}") from None
    if isinstance(loss, CrossEntropyLoss) and np.ndim(y) == 0:
        y = int(np.asarray(y).item())  # a class label: one number
    elif front == len(layers):
        y = np.asarray(y, dtype=float)
    p = run_pass(Sequential(*layers), image, y, loss, round_fn=round_fn, batched=True)
    _check_finite(p)
    tail = None
    if front < len(p.net.layers):
        try:
            tail = run(Sequential(*p.net.layers[front:]), p.records[front - 1].output, y, loss, round_fn, check)
        except ChainruleError as e:
            raise ChainruleError(f"in the dense part (layers {front} on, after Flatten): {e}") from None
    p.update(lr, steps)
    return CnnExplanation(p, tail, front, fmt, form=form, cells=cells)


def _check_finite(p: Pass) -> None:
    for r in p.records:
        for what, v in (("output", r.output), ("gradient", r.grad_output)):
            if not np.all(np.isfinite(v)):
                raise ChainruleError(
                    f"the {what} of layer {r.index} ({r.type}) overflows; use smaller inputs or weights"
                )


class CnnExplanation(Explanation):
    """An image network's pass (``Pass``), its dense part's ``Trace`` (None without one), how to write it."""

    p: Pass  # always set here (the base's is None for a dense explanation made without a pass)

    def __init__(
        self, p: Pass, tail: Trace | None, front: int, fmt: NumberFormat, form: str = "scalar", cells: int = 9
    ) -> None:
        self.p, self.tail, self.front, self.fmt, self.form, self.wrt, self.target = (
            p,
            tail,
            front,
            fmt,
            form,
            None,
            None,
        )
        self.cells = cells
        recs = p.records[:front]
        self.names = MapNames([r.layer for r in recs], recs[0].input.shape, [r.output.shape for r in recs])
        self.ctx = MapContext(self.names, cells)
        self._tail_deriver = Deriver(tail) if tail is not None else None
        norms = [r.index for r in p.records if isinstance(r.layer, _BatchNorm)]  # numbered across the network
        self.names.norm_total = len(norms)
        if self._tail_deriver is not None:
            self._tail_deriver.n.norm_offset = sum(i < front for i in norms)
            self._tail_deriver.n.norm_total = len(norms)

    @property
    def trace(self) -> Trace:
        """The dense part's pass (what the web page draws); a network of image layers only has none."""
        if self.tail is None:
            raise ChainruleError(
                "this network has image layers only (no Linear layers after Flatten): the web page (--format "
                "html) draws a dense network; write it as text, markdown, latex or json"
            )
        return self.tail

    @property
    def dense_notation(self) -> Notation | None:
        return None if self._tail_deriver is None else self._tail_deriver.n

    @property
    def document(self) -> Document:
        p, front = self.p, self.front
        doc = Document(title="Forward and backward pass of a convolutional network, worked")
        doc.add(*self._summary())
        doc.add(Heading("Forward pass"))
        if self.form == "vector":  # said once, so the scalar cells of the maps never pass for the vector form
            dense = "; the dense part after Flatten in vector form" if self.tail is not None else ""
            doc.add(
                Prose(f"--form vector: the image layers are written cell by cell (a map has no vector form){dense}.")
            )
        for r in p.records[:front]:
            doc.add(Prose(f"Layer {r.index}: {r.layer!r}:"), *_rule(r).forward(self.ctx, r))
        tail_fwd, tail_bwd = self._tail_blocks()
        if self.tail is not None:
            doc.add(Prose("The dense part takes the flattened vector x as its input:"), *tail_fwd)
        else:
            doc.add(Prose("Loss:"), *self._map_loss())
        doc.add(Heading("Backward pass"))
        if self.tail is not None:
            doc.add(*tail_bwd, *self._dense_input_grad())
        else:
            doc.add(Prose("The loss's gradient, cell by cell:"), Equations(self._loss_grad))
        for r in reversed(p.records[:front]):
            doc.add(Prose(f"Layer {r.index}: {r.layer!r}:"), *_rule(r).backward(self.ctx, r))
        doc.add(*update.section(self))
        return doc

    def _summary(self) -> list:
        p, recs = self.p, self.p.records
        parts: list[str | Node] = ["Network: ", str(list(recs[0].input.shape))]
        for r in recs:
            parts += [" ", Sym("->", r"\to"), f" {r.type} {list(r.output.shape)}"]
        parts.append(f"; loss: {loss_rule_for(p.loss).text}.")
        blocks: list = [Prose(*parts)]
        if p.round_fn is not None:
            blocks.append(
                Prose("Every intermediate value is rounded to the digits printed before it is used (round each step).")
            )
        X = self.names.input
        rows = [(X.map(c), Mat(recs[0].input[c])) for c in range(recs[0].input.shape[0])]
        blocks.append(Equations(rows))
        for r in recs[: self.front]:
            if isinstance(r.layer, Conv2d):
                blocks += conv.given(self.ctx, r)
        return blocks

    def _tail_blocks(self) -> tuple[list, list]:
        """The dense derivation's forward (with its given weights and loss) and backward blocks."""
        if self._tail_deriver is None:
            return [], []
        blocks = self._tail_deriver.document(self.form).blocks
        heads = [k for k, b in enumerate(blocks) if isinstance(b, Heading)]
        f, b = heads[0], heads[1]
        summary = [blk for blk in blocks[:f] if not (isinstance(blk, Prose) and "rounded" in str(blk.parts))]
        return summary + blocks[f + 1 : b], blocks[b + 1 :]

    def _dense_input_grad(self) -> list:
        """∂ℓ/∂xₖ = Σⱼ ∂ℓ/∂aⱼ · α_{j,k}: what the first dense layer hands back to Flatten."""
        r, gx = self.p.records[self.front], self.p.records[self.front].grad_input
        if not isinstance(r.layer, Linear):  # a BatchNorm1d on the flattened x wrote ∂ℓ/∂x itself
            return []
        n = self.dense_notation
        assert n is not None and gx is not None  # asked only with a dense part, whose ∂ℓ/∂x the pass computed
        P, W = n.pre(1), n.weight(1)
        single = r.output.shape[0] == 1 and self.tail is not None and len(self.tail.stages) == 1
        w = r.params["weight"].value
        rows = []
        for (k,) in first_cells(r.input.shape, self.cells):
            terms = [product(Num(r.grad_output[j]), Num(w[j, k])) for j in range(w.shape[0])]
            wel = W.el(k + 1) if single else W.el("j", k + 1)
            lhs = d(ELL, n.x.el(k + 1))
            sym_ = Row(Sym("Σⱼ", r"\sum_{j}"), d(ELL, P.el("j")), wel) if not single else Row(d(ELL, P.el(1)), wel)
            rows.append((lhs, sym_, joined(Op.PLUS, terms), Num(gx[k])))
        blocks = [Prose("Back to the flattened vector x:"), Equations(rows)]
        note = more_note(r.input.shape, self.cells, "entries")
        return blocks + ([note] if note else [])

    def _map_loss(self) -> list:
        """The loss on the last map (no dense part): squared error or MSE, and ∂ℓ/∂ of every cell."""
        r, Y = self.p.records[-1], self.names.out(self.front - 1)
        t = np.asarray(self.p.inputs[1], dtype=np.float64)[0].reshape(r.output.shape)
        if self.p.round_fn is not None:
            t = self.p.round_fn(t)
        cells: list[tuple[int, ...]] = list(np.ndindex(*r.output.shape))  # every cell of the map
        N = len(cells)
        sq = Paren(joined(Op.PLUS, [Power(Row(Num(r.output[c]), Op.MINUS, Num(t[c])), "2") for c in cells]))
        mse = isinstance(self.p.loss, MSELoss)
        coef = Frac(Num(1), Num(N)) if mse else HALF
        ysym = Sym("y", "y")
        ys = MapVar("y", None, r.output.shape)  # the target, indexed like the map
        total = Row(coef, Sym("Σ", r"\sum"), Power(Row(Y.map(), Op.MINUS, ysym), "2"))
        loss_rows = [(ELL, total, product(coef, sq), Num(self.p.value))]
        grows: list[tuple[Node, ...]] = []
        for c in first_cells(r.output.shape, self.cells):
            diff = Row(Num(r.output[c]), Op.MINUS, Num(t[c]))
            sym_ = Row(Y.el(*c), Op.MINUS, ys.el(*c))
            if mse:
                two = Frac(Num(2), Num(N))
                grows.append(
                    (d(ELL, Y.el(*c)), product(two, Paren(sym_)), product(two, Paren(diff)), Num(r.grad_output[c]))
                )
            else:
                grows.append((d(ELL, Y.el(*c)), sym_, diff, Num(r.grad_output[c])))
        self._loss_grad = grows
        if r.output.ndim == 1:
            target = [(ysym, Mat(t))]
        else:
            target = [(ys.map(c), Mat(t[c])) for c in range(r.output.shape[0])]
        return [Prose("The target y, shaped like ", Y.map(), ":"), Equations(target), Equations(loss_rows)]

    def to_dict(self) -> dict:
        p = self.p
        last = p.records[-1]
        out = {
            "x": p.records[0].input.tolist(),
            "y": np.asarray(p.inputs[1][0] if np.ndim(p.inputs[1]) else p.inputs[1]).tolist(),
            "loss_name": loss_rule_for(p.loss).key,
            "round_each_step": p.round_fn is not None,
            "yhat": (self.tail.yhat if self.tail is not None else last.output).tolist(),
            "loss": float(p.value),
            "layers": layers_json(p, self.tail, self._dense_names()),
        }
        if self.tail is not None:
            out["target"] = self.tail.target.tolist()
            out["grad_yhat"] = self.tail.grad_yhat.tolist()
        out.update(update.json(p))
        return out

    def _dense_names(self) -> list[str] | None:
        n = self.dense_notation
        return None if n is None or self.tail is None else [n.name(s) for s in range(1, len(self.tail.stages) + 1)]

    def __repr__(self) -> str:
        return f"<CnnExplanation layers={len(self.p.records)} loss={self.p.value!r}>"


def _rule(r: LayerRecord) -> MapRule:
    if isinstance(r.layer, Activation):
        return map_activations
    return IMAGE_RULES[type(r.layer)]
