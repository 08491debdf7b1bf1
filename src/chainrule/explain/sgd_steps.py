"""The worked first K steps of the course homework's training (``chainrule neuralnet --trace``).

Each step is the explainer's vector-form derivation (``Deriver``) of the engine's pass on that step's
example with the weights the step started from, then the update the optimiser made, with the new
weights as the training loop left them (``CourseStep.after``):

    SGD:      α⁺ = α − η ∂ℓ/∂α
    Adagrad:  G_α ← G_α + (∂ℓ/∂α)²;  α⁺ = α − η ∂ℓ/∂α / √(G_α + ε),  ε = 1e-5   (the handout's)

A learner diffs their program's trace against it. The gradients printed are the engine's (a copy of
the network at the step's starting weights); a test checks that α − η ∂ℓ/∂α is the next weights bit
for bit.
"""

import copy
from typing import Any

import numpy as np

from chainrule.explain.derive import Deriver
from chainrule.explain.doc import ELL, Call, Document, Equations, Frac, Heading, Mat, Num, Op, Power, Prose, Row, Sym, d
from chainrule.explain.trace import Trace, run
from chainrule.nn.losses import CrossEntropyLoss

SQRT = Sym("√", r"\sqrt")


def step_trace(net: Any, before: list[np.ndarray], x: np.ndarray, label: int) -> Trace:
    """The engine's pass on one example with the folded weights ``before`` ([α, β])."""
    net = copy.deepcopy(net)
    for lin, w in zip((net.layers[0], net.layers[2]), before, strict=True):
        lin.folded = w
    return run(net, x, int(label), CrossEntropyLoss())


def _update_rows(deriver: Deriver, trace: Trace, step: Any, lr: float, eps: float | None) -> list:
    rows = []
    for s in range(1, len(trace.stages) + 1):
        W = deriver.n.weight(s)
        w, plus, g = W.vec(), Sym(W.vec().text + "⁺", W.vec().latex + "^{+}"), d(ELL, W.vec())
        if eps is None:
            rows.append((plus, Row(w, Op.MINUS, Num(lr), g), Mat(step.after[s - 1])))
        else:
            G = Sym("G" + W.vec().text, r"G_{" + W.vec().latex + "}")
            rows.append((G, Row(G, Op.PLUS, Power(g, "2")), Mat(step.G[s - 1])))
            root = Call(SQRT, Row(G, Op.PLUS, Num(eps)))
            rows.append((plus, Row(w, Op.MINUS, Num(lr), Frac(g, root)), Mat(step.after[s - 1])))
    return rows


def sgd_steps_document(
    net: Any, X: np.ndarray, y: np.ndarray, steps: list, lr: float, optimizer: str = "sgd"
) -> Document:
    """net: the course network (its layer structure; weights come from each step); X, y: the training data."""
    from chainrule.train.course import COURSE_EPS

    eps = COURSE_EPS if optimizer == "adagrad" else None
    doc = Document(title=f"The first {len(steps)} training step(s), worked")
    rule = (
        "SGD, one example per step: w ← w − η g"
        if eps is None
        else "the handout's Adagrad: G ← G + g², w ← w − η g / √(G + ε), ε = 1e-5"
    )
    doc.add(Prose(f"Learning rate η = {lr!r}; {rule}. Each step: forward, backward, update."))
    for step in steps:
        trace = step_trace(net, step.before, X[step.example], y[step.example])
        deriver = Deriver(trace)
        doc.add(
            Heading(f"Epoch {step.epoch}, step {step.step}: example {step.example + 1} of the file", 1),
        )
        body = deriver.document("vector").blocks
        doc.add(*body)
        doc.add(Heading("Update"))
        doc.add(Equations(_update_rows(deriver, trace, step, lr, eps)))
    return doc


def steps_to_dict(net: Any, X: Any, y: Any, steps: list, lr: float, optimizer: str) -> dict:
    """Every value of every traced step at full precision (JSON)."""
    out = []
    for step in steps:
        trace = step_trace(net, step.before, X[step.example], y[step.example])
        d_ = trace.to_dict()
        d_.update(epoch=step.epoch, step=step.step, example=step.example + 1)
        d_["new_weights"] = [w.tolist() for w in step.after]
        if step.G is not None:
            d_["adagrad_G"] = [g.tolist() for g in step.G]
        out.append(d_)
    return {"learning_rate": lr, "optimizer": optimizer, "steps": out}
