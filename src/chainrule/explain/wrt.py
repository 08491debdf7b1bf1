"""``--wrt``: the chain rule for one weight of a dense stage, as the recitation's equations 3–6 write it.

The chain of partial derivatives is expanded one factor at a time; when it is a single path, its closed
form follows with the numbers substituted (``= (ŷ − y) β₁ (1 − tanh²(a₁)) x₁ = (4.91807 − 3) · 1 ·
(1 − tanh²(5)) · 1 = 0.000348``); then every step is evaluated, top to bottom, by the layers' own rules.
"""

from chainrule.explain.chain import chain, jacobian
from chainrule.explain.derive import Deriver, merge
from chainrule.explain.doc import ELL, Document, Equations, Heading, Node, Num, Row, Sym, d, product
from chainrule.explain.rules.linear import LinearRule, sum_over

BLANK = Sym("", "")


def _index(dv: Deriver, stage: int, linear: bool) -> int:
    """Index in ``dv.steps`` of stage ``stage``'s Linear (or its activation)."""
    for k, st in enumerate(dv.steps):
        if dv.stage_of[k] == stage and (st.layer.__class__.__name__ == "Linear") == linear:
            return k
    raise KeyError(stage)


def closed_form(dv: Deriver, s: int, j: int, i: int) -> tuple[Node, Node] | None:
    """(symbols, numbers) of ∂ℓ/∂Wⱼ,ᵢ as one product of local derivatives, or None (several paths)."""
    if chain(dv.n, dv.t.stages, s, j) is None:
        return None
    L, stages = dv.L, dv.t.stages
    top_unit = j if s == L else 1
    factors: list[tuple[Node, Node] | None] = []
    top = stages[L - 1]
    if top.fused:
        k = _index(dv, L, linear=False)
        factors.append(dv.rule(dv.steps[k]).factor(dv.ctx(k, "scalar"), top_unit, top_unit))
    else:
        factors.append(dv.loss_rule().factor(dv.loss_ctx("scalar"), top_unit))
        if not dv.n.merged(L):
            k = _index(dv, L, linear=False)
            factors.append(dv.rule(dv.steps[k]).factor(dv.ctx(k, "scalar"), top_unit, top_unit))
    for t in range(L - 1, s - 1, -1):
        unit = j if t == s else 1
        above = _index(dv, t + 1, linear=True)
        factors.append(dv.rule(dv.steps[above]).factor(dv.ctx(above, "scalar"), 1, unit))
        act = _index(dv, t, linear=False)
        factors.append(dv.rule(dv.steps[act]).factor(dv.ctx(act, "scalar"), unit, unit))
    if any(f is None for f in factors):
        return None
    lin = _index(dv, s, linear=True)
    rule = dv.rule(dv.steps[lin])
    assert isinstance(rule, LinearRule)
    factors.append(rule.weight_factor(dv.ctx(lin, "scalar"), i))
    got = [f for f in factors if f is not None]
    return Row(*[f[0] for f in got]), product(*[f[1] for f in got])


def wrt_document(dv: Deriver, s: int, j: int, i: int) -> Document:
    n = dv.n
    w = n.weight(s).el(j, i)
    p = n.pre(s).el(j)
    doc = Document(
        title=f"The derivative with respect to {w.text}, by the chain rule",
        title_latex=f"The derivative with respect to ${w.latex}$, by the chain rule",
    )
    doc.add(*dv.summary())
    doc.add(Heading("The chain"))
    path = chain(n, dv.t.stages, s, j)
    if path is not None:
        rows: list[tuple] = []
        for m in range(1, len(path) + 1):
            vs = path[:m]
            facs = [d(ELL, vs[0])] + [d(a, b) for a, b in zip(vs, vs[1:], strict=False)] + [d(vs[-1], w)]
            rows.append((d(ELL, w) if m == 1 else BLANK, Row(*facs)))
        closed = closed_form(dv, s, j, i)
        if closed is not None:
            rows.append((BLANK, closed[0], closed[1], Num(dv.t.stages[s - 1].grad_weights[j - 1, i])))
    else:
        q = n.post(s).el(j)
        if jacobian(dv.t.stages[s - 1]):
            qk = n.post(s).el("k")
            through_q = Row(sum_over("k"), d(ELL, qk), d(qk, p), d(p, w))
        else:
            through_q = Row(d(ELL, q), d(q, p), d(p, w))
        rows = [(d(ELL, w), Row(d(ELL, p), d(p, w)), through_q)]
        for t in range(s, dv.L):
            P2 = n.pre(t + 1)
            qq = n.post(t).el(j if t == s else "j")
            rows.append((d(ELL, qq), Row(sum_over("k"), d(ELL, P2.el("k")), d(P2.el("k"), qq))))
    doc.add(Equations(rows))
    doc.add(Heading("Evaluated, one step at a time"))
    L = dv.L
    top_units = None if s < L or jacobian(dv.t.stages[L - 1]) else (j,)
    blocks = dv.into(len(dv.sections) - 1, "scalar", top_units)
    for t in range(L, s - 1, -1):
        units = (j,) if t == s else None
        if t < L:
            blocks += dv.into(_section_of(dv, t), "scalar", units)
        if not (t == L and n.merged(L)):
            act = _index(dv, t, linear=False)
            c = dv.ctx(act, "scalar", units)
            blocks += dv.rule(c.step).backward(c)
    lin = _index(dv, s, linear=True)
    rule = dv.rule(dv.steps[lin])
    assert isinstance(rule, LinearRule)
    blocks.append(rule.weight_rows(dv.ctx(lin, "scalar"), [(j, i)]))
    doc.add(*merge(blocks))
    return doc


def _section_of(dv: Deriver, stage: int) -> int:
    lin = _index(dv, stage, linear=True)
    return next(k for k, sec in enumerate(dv.sections) if sec.opener == lin)
