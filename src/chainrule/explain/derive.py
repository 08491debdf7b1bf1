"""The orchestration: walk a ``Trace``'s steps and ask each layer's rule for its lines (a ``Document``).

Every number placed in the document comes from a rule, which reads it from the trace (a value the engine
cached); this module only groups the layers into sections (a Linear and the activation after it is the
recitation's layer), orders them (forward bottom-up, backward top-down, each section's ∂ℓ/∂(its output)
from the section above) and titles them. ``wrt.py`` writes the one-weight chain of ``--wrt``.
"""

from dataclasses import dataclass, field
from typing import Any

from chainrule.explain.doc import Document, Equations, Heading, Mat, Node, Num, Prose, Sym
from chainrule.explain.notation import Notation, Var
from chainrule.explain.rules import LOSS_RULES, loss_rule_for, rule_for
from chainrule.explain.rules.activations import IdentityRule
from chainrule.explain.rules.base import Block, LayerContext, LossContext, Rule
from chainrule.explain.rules.dropout import DropoutRule
from chainrule.explain.trace import Step, Trace
from chainrule.nn.activations import Identity
from chainrule.nn.linear import Linear

LOSS_TEXT = {r.key: r.text for r in LOSS_RULES.values()}
LAYOUTS = ("row", "column")


def notation_for(trace: Trace) -> Notation:
    n = Notation([s.width for s in trace.stages], [s.activation for s in trace.stages])
    n.in_width0 = trace.stages[0].input.shape[0] if trace.stages else trace.x.shape[0]
    return n


def merge(blocks: list[Block]) -> list[Block]:
    """Consecutive ``Equations`` joined into one aligned block (their notes kept on their rows)."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Equations) and out and isinstance(out[-1], Equations):
            prev = out[-1]
            notes = [prev.note(i) for i in range(len(prev.rows))] + [b.note(i) for i in range(len(b.rows))]
            out[-1] = Equations(prev.rows + b.rows, notes)
        elif not (isinstance(b, Equations) and not b.rows):
            out.append(b)
    return out


@dataclass
class Section:
    """A layer that opens a section (Linear, a convolution …) and the parameter-free layers that join it."""

    opener: int  # index into Deriver.steps
    members: list[int] = field(default_factory=list)


class Deriver:
    def __init__(self, trace: Trace, check: bool = False, layout: str = "row"):
        self.t, self.check, self.layout = trace, check, layout
        self.n = notation_for(trace)
        self.L = len(trace.stages)
        self.steps: list[Step] = []
        self.stage_of: list[int | None] = []
        self._walk()

    # --- the walk ---------------------------------------------------------------------------------
    def _walk(self) -> None:
        """Steps in order, each with its dense stage; a hidden Linear with no activation gets the
        identity's (z = a), as a spec's ``activation = "identity"`` does, so both read alike."""
        stage = 0
        steps = self.t.steps
        for k, st in enumerate(steps):
            rule = self.rule(st)
            if isinstance(st.layer, Linear):
                stage += 1
            self.steps.append(st)
            self.stage_of.append(stage if (isinstance(st.layer, Linear) or not rule.opens_section) and stage else None)
            nxt = steps[k + 1] if k + 1 < len(steps) else None
            joins = nxt is not None and self.rule(nxt).opens_section is False
            if isinstance(st.layer, Linear) and not joins and stage < self.L:
                self.steps.append(Step(-1, Identity(), st.output, st.output, st.grad_output, st.grad_output))
                self.stage_of.append(stage)
        self.sections: list[Section] = []
        for k in range(len(self.steps)):
            if self.rule(self.steps[k]).opens_section or not self.sections:
                self.sections.append(Section(k))
            else:
                self.sections[-1].members.append(k)
        vars_: list[Var] = []
        for k in range(len(self.steps)):
            first_linear = isinstance(self.steps[k].layer, Linear) and self.stage_of[k] == 1
            if first_linear and k > 0:
                self.n.first_input = vars_[k - 1]
            vars_.append(self._out_var(k, vars_))
        self.vars = vars_

    def rule(self, step: Step) -> Rule:
        return IdentityRule() if step.index < 0 else rule_for(step.layer, step.index)

    def _out_var(self, k: int, vars_: list[Var]) -> Var:
        s = self.stage_of[k]
        if s is not None and not self.rule(self.steps[k]).normalises:
            return self.n.pre(s) if isinstance(self.steps[k].layer, Linear) else self.n.post(s)
        got = self.rule(self.steps[k]).output_var(self.ctx(k, "scalar", vars_=vars_, out=self.n.x))
        return got or Var(type(self.steps[k].layer).__name__, type(self.steps[k].layer).__name__)

    def ctx(
        self, k: int, form: str, units: tuple[int, ...] | None = None, vars_: list[Var] | None = None, out: Any = None
    ) -> LayerContext:
        vs = self.vars if vars_ is None else vars_
        st, kind = self.steps[k], self.rule(self.steps[k]).kind
        same = [i for i in range(len(self.steps)) if self.rule(self.steps[i]).kind == kind]
        return LayerContext(
            step=st,
            trace=self.t,
            notation=self.n,
            in_var=(vs[k - 1] if k > 0 else self.n.x),
            out_var=out if out is not None else vs[k],
            form=form,
            layout=self.layout,
            ordinal=same.index(k) + 1,
            count=len(same),
            check=self.check,
            units=units,
            stage=self.stage_of[k],
        )

    def loss_ctx(self, form: str, units: tuple[int, ...] | None = None) -> LossContext:
        return LossContext(self.t, self.n, form, self.layout, units, fused=self.t.steps[-1].fused)

    def loss_rule(self) -> Any:
        return loss_rule_for(self.t.loss_fn) if self.t.loss_fn is not None else LOSS_RULES_BY_KEY[self.t.loss_name]

    def title(self, sec: Section, form: str) -> str:
        c = self.ctx(sec.opener, form)
        return self.rule(c.step).title(c, [self.ctx(m, form) for m in sec.members])

    # --- the document -----------------------------------------------------------------------------
    def summary(self) -> list[Block]:
        t, n = self.t, self.n
        parts = [str(t.x.shape[0]) if t.x.ndim == 1 else "×".join(map(str, t.x.shape))]
        for sec in self.sections:
            s = self.stage_of[sec.opener]
            if s is not None and isinstance(self.steps[sec.opener].layer, Linear):
                st = t.stages[s - 1]
                act = "softmax" if st.fused else st.activation
                kinds = [self.rule(self.steps[m]).kind if self.steps[m].index in st.norms else act for m in sec.members]
                parts.append(f"{st.width} ({', '.join(kinds) if st.norms else act})")
            else:
                parts.append(self.title(sec, "scalar"))
        arrow = Sym("->", r"\to")  # pdflatex prints a bare "->" in prose as "-¿"
        net_parts = [p for k, w in enumerate(parts) for p in ((" ", arrow, " ", w) if k else (w,))]
        hidden = [
            part for h in range(1, self.L) for part in (n.post(h).el(0), " = 1." if h == self.L - 1 else " = 1, ")
        ]
        blocks: list[Block] = [
            Prose(
                "Network: ",
                *net_parts,
                f"; loss: {LOSS_TEXT[t.loss_name]}. Bias folded in: ",
                n.input(1).el(0),
                " = 1" + (", " if self.L > 1 else ""),
                *hidden,
                *([] if self.L > 1 else ["."]),
            )
        ]
        if t.rounded:
            blocks.append(
                Prose(
                    "Every intermediate value is rounded to the digits printed before it is used "
                    "(round each step), as in a calculation by hand."
                )
            )
        given: list[tuple[Node, Node]] = [(n.x.vec(), Mat(t.x))]
        if t.label is not None:
            given.append((n.y.vec(), Mat(t.target)))
        elif t.target.shape[0] == 1:
            given.append((n.y.el(1), Num(t.target[0])))
        else:
            given.append((n.y.vec(), Mat(t.target)))
        for s in range(1, self.L + 1):
            given.append((n.weight(s).vec(), Mat(t.stages[s - 1].weights)))
        blocks.append(Equations(given))
        if t.label is not None:
            blocks.append(
                Prose(
                    f"y is class {t.label} (classes counted from 0, as in the spec and in PyTorch), "
                    "one-hot above; units are counted from 1, so its probability is ",
                    n.yhat.el(t.label + 1),
                    ".",
                )
            )
        return blocks

    def document(self, form: str = "scalar") -> Document:
        doc = Document(title="Forward and backward pass, worked" + (" (vector form)" if form == "vector" else ""))
        doc.add(*self.summary())
        doc.add(Heading("Forward pass"))
        for sec in self.sections:
            doc.add(Prose(self.title(sec, form) + ":"))
            blocks: list[Block] = []
            for k in [sec.opener, *sec.members]:
                c = self.ctx(k, form)
                blocks += self.rule(c.step).forward(c)
            doc.add(*merge(blocks))
        doc.add(Prose("Loss:"), *self.loss_rule().forward(self.loss_ctx(form)))
        doc.add(Heading("Backward pass"))
        for n_sec in range(len(self.sections) - 1, -1, -1):
            sec = self.sections[n_sec]
            chain = self.into(n_sec, form)
            for m in reversed(sec.members):
                c = self.ctx(m, form)
                chain += self.rule(c.step).backward(c)
            c = self.ctx(sec.opener, form)
            own = self.rule(c.step).backward(c)
            if form == "vector":
                title = "Output layer" if n_sec == len(self.sections) - 1 else self.title(sec, form)
                doc.add(Prose(title + ":"), *merge(chain + own))
            else:
                doc.add(Prose(self.title(sec, form) + ":"), *merge(chain), *merge(own))
        return doc

    def passes(self, n_sec: int) -> bool:
        """Section ``n_sec`` is the identity (Dropout in evaluation mode): its output keeps its input's symbol."""
        c = self.ctx(self.sections[n_sec].opener, "scalar")
        return isinstance(self.rule(c.step), DropoutRule) and DropoutRule.identity(c)

    def into(self, n_sec: int, form: str, units: tuple[int, ...] | None = None) -> list[Block]:
        """∂ℓ/∂(section n_sec's output): the loss's ∂ℓ/∂ŷ for the top, else the section above's ∂ℓ/∂input."""
        if self.passes(n_sec):  # the section below prints it: both sections' outputs are one symbol
            return []
        n_above = next((k for k in range(n_sec + 1, len(self.sections)) if not self.passes(k)), None)
        if n_above is None:
            return self.loss_rule().backward(self.loss_ctx(form, units))
        above = self.sections[n_above].opener
        c = self.ctx(above, form, units)
        return self.rule(c.step).grad_input(c)


LOSS_RULES_BY_KEY = {r.key: r for r in LOSS_RULES.values()}
