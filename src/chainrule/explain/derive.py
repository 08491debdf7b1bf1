"""Derivation steps: a ``Trace`` of engine values -> a ``Document`` in the recitation's notation.

Every number placed in the document is an array element of the trace (a value the engine cached);
this module only chooses symbols and arranges lines. Each backward line is one step the engine took,
``result = operand · operand`` (or a sum of such products), so with ``--round-each-step`` every line
recomputes exactly from what it prints.
"""

import numpy as np

from chainrule.explain.doc import (
    ELL,
    HALF,
    Call,
    Document,
    Equations,
    Frac,
    Heading,
    Mat,
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
from chainrule.explain.notation import Notation
from chainrule.explain.trace import Stage, Trace

BLANK = Sym("", "")
FUNCS = {
    "tanh": Sym("tanh", r"\tanh"),
    "sigmoid": Sym("σ", r"\sigma"),
    "exp": Sym("exp", r"\exp"),
    "softmax": Sym("softmax", r"\operatorname{softmax}"),
    "max": Sym("max", r"\max"),
    "step": Sym("𝟙", r"\mathbb{1}"),
    "log": Sym("log", r"\log"),
    "-log": Sym("−log", r"-\log"),
}
LOSS_TEXT = {"squared": "squared error", "mse": "mean squared error", "cross-entropy": "cross-entropy"}


def _sum(letter: str) -> Sym:
    sub = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ"}[letter]
    return Sym("Σ" + sub, rf"\sum_{{{letter}}}")


def _rel_err(g: float, fd: float) -> float:
    """|g − fd| / (|g| + |fd|): 0 when they agree exactly, at most 1."""
    return 0.0 if g == fd else abs(g - fd) / (abs(g) + abs(fd))


def notation_for(trace: Trace) -> Notation:
    n = Notation([s.width for s in trace.stages], [s.activation for s in trace.stages])
    n.in_width0 = trace.x.shape[0]
    return n


class Deriver:
    def __init__(self, trace: Trace, check: bool = False):
        self.t = trace
        self.n = notation_for(trace)
        self.check = check
        self.L = len(trace.stages)

    # --- helpers ----------------------------------------------------------------------------------
    def st(self, s: int) -> Stage:
        return self.t.stages[s - 1]

    def u_el(self, s: int, i: int):
        """(symbol, value) of input i of stage s, with i = 0 the constant 1 that multiplies the bias."""
        u = self.n.input(s)
        return u.el(i), (1.0 if i == 0 else self.st(s).input[i - 1])

    def _merged(self, s: int) -> bool:
        return self.n.merged(s)

    # --- forward ----------------------------------------------------------------------------------
    def forward_scalar(self, s: int) -> Equations:
        st, n = self.st(s), self.n
        W, P, U = n.weight(s), n.pre(s), n.input(s)
        rows = []
        for j in range(1, st.width + 1):
            terms = [product(Num(st.weights[j - 1, i]), Num(self.u_el(s, i)[1])) for i in range(st.weights.shape[1])]
            ix = "i" if s == 1 else "j"  # the recitation: Σᵢ α_{j,i} xᵢ, then Σⱼ βⱼ zⱼ
            rows.append((P.el(j), Row(_sum(ix), W.el(j, ix), U.el(ix)), joined(Op.PLUS, terms), Num(st.a[j - 1])))
        if not self._merged(s):
            for j in range(1, st.width + 1):
                rows.append(self._act_forward_scalar(s, j))
        return Equations(rows)

    def _act_forward_scalar(self, s: int, j: int):
        st, P, Q = self.st(s), self.n.pre(s), self.n.post(s)
        a, z = st.a[j - 1], st.z[j - 1]
        act = st.activation
        if act in ("tanh", "sigmoid"):
            f = FUNCS[act]
            return (Q.el(j), Call(f, P.el(j)), Call(f, Num(a)), Num(z))
        if act == "relu":
            return (
                Q.el(j),
                Call(FUNCS["max"], Row(Num(0), Op.COMMA, P.el(j))),
                Call(FUNCS["max"], Row(Num(0), Op.COMMA, Num(a))),
                Num(z),
            )
        if act == "softmax":
            e = FUNCS["exp"]
            den = joined(Op.PLUS, [Call(e, Num(v)) for v in st.a])
            return (
                Q.el(j),
                Frac(Call(e, P.el(j)), Row(_sum("k"), Call(e, P.el("k")))),
                Frac(Call(e, Num(a)), den),
                Num(z),
            )
        return (Q.el(j), P.el(j), Num(z))  # identity / none in a hidden layer: z = a

    def forward_vector(self, s: int) -> Equations:
        st, n = self.st(s), self.n
        W, P, U, Q = n.weight(s), n.pre(s), n.input(s), n.post(s)
        uhat = np.concatenate([[1.0], st.input])
        single = st.width == 1 and s == self.L
        res = Num(st.a[0]) if single else Mat(st.a)
        rows = [
            (U.hat(), Mat(uhat)),
            (
                P.el(1) if single else P.vec(),
                Row(U.hat(), Power(W.vec(), "T")),
                Row(Mat(uhat), Mat(st.weights.T)),
                res,
            ),
        ]
        if not self._merged(s):
            lhs = Q.el(1) if single else Q.vec()
            zres = Num(st.z[0]) if single else Mat(st.z)
            if st.activation in ("none", "identity"):
                rows.append((lhs, P.vec(), zres))
            else:
                f = FUNCS["max"] if st.activation == "relu" else FUNCS[st.activation]
                arg = Row(Num(0), Op.COMMA, P.vec()) if st.activation == "relu" else (P.el(1) if single else P.vec())
                rows.append((lhs, Call(f, arg), zres))
        return Equations(rows)

    def loss_rows(self) -> Equations:
        t, n = self.t, self.n
        K = t.yhat.shape[0]
        yh, y = n.yhat, n.y
        if t.loss_name in ("squared", "mse"):
            if K == 1:
                sym = Power(Row(yh.el(1), Op.MINUS, y.el(1)), "2")
                num = Power(Row(Num(t.yhat[0]), Op.MINUS, Num(t.target[0])), "2")
            else:
                sym = Row(_sum("k"), Power(Row(yh.el("k"), Op.MINUS, y.el("k")), "2"))
                num = Paren(
                    joined(
                        Op.PLUS,
                        [Power(Row(Num(a), Op.MINUS, Num(b)), "2") for a, b in zip(t.yhat, t.target, strict=True)],
                    )
                )
            c = HALF if t.loss_name == "squared" else Frac(Num(1), Num(K))
            if t.loss_name == "mse" and K == 1:
                return Equations([(ELL, sym, num, Num(t.loss))])
            return Equations([(ELL, Row(c, sym), product(c, num), Num(t.loss))])
        # cross-entropy
        sym = Row(Sym("−", "-"), _sum("k"), y.el("k"), Call(FUNCS["log"], yh.el("k")))
        if t.label is not None:
            c = t.label + 1
            return Equations(
                [
                    (
                        ELL,
                        sym,
                        Call(FUNCS["-log"], yh.el(c)),
                        Call(FUNCS["-log"], Num(t.yhat[c - 1])),
                        Num(t.loss),
                    )
                ]
            )
        terms = [product(Num(p), Call(FUNCS["log"], Num(q))) for p, q in zip(t.target, t.yhat, strict=True)]
        return Equations([(ELL, sym, Row(Sym("−", "-"), Paren(joined(Op.PLUS, terms))), Num(t.loss))])

    # --- backward, scalar -------------------------------------------------------------------------
    def top_rows(self, units=None) -> list:
        """∂ℓ/∂ŷ (unless softmax is fused into cross-entropy) and, for an output activation, ∂ℓ/∂b
        (for the given output units; all by default)."""
        t, n, s = self.t, self.n, self.L
        st = self.st(s)
        yh, y, K = n.yhat, n.y, st.width
        units = range(1, K + 1) if units is None else units
        rows = []
        if not st.fused:
            for k in units if not self._jacobian(s) else range(1, K + 1):
                v, tk, g = Num(t.yhat[k - 1]), Num(t.target[k - 1]), Num(t.grad_yhat[k - 1])
                if t.loss_name == "squared":
                    rows.append((d(ELL, yh.el(k)), Row(yh.el(k), Op.MINUS, y.el(k)), Row(v, Op.MINUS, tk), g))
                else:  # mse
                    c = Frac(Num(2), Num(K))
                    rows.append(
                        (
                            d(ELL, yh.el(k)),
                            product(c, Paren(Row(yh.el(k), Op.MINUS, y.el(k)))),
                            product(c, Paren(Row(v, Op.MINUS, tk))),
                            g,
                        )
                    )
        if not self._merged(s):
            rows += self.act_rows(s, units)
        return rows

    def act_rows(self, s: int, units) -> list:
        """∂z/∂a and ∂ℓ/∂a = ∂ℓ/∂z · ∂z/∂a for the given units of stage s."""
        st, P, Q = self.st(s), self.n.pre(s), self.n.post(s)
        rows = []
        for j in units:
            q, p = Q.el(j), P.el(j)
            gz, ga, z = st.grad_z[j - 1], st.grad_a[j - 1], st.z[j - 1]
            if st.fused:
                rows.append(
                    (
                        d(ELL, p),
                        Row(q, Op.MINUS, self.n.y.el(j)),
                        Row(Num(z), Op.MINUS, Num(self.t.target[j - 1])),
                        Num(ga),
                    )
                )
            elif st.activation in ("none", "identity"):
                rows.append((d(ELL, p), d(ELL, q), Num(ga)))
            elif st.activation == "softmax":
                inner = joined(Op.PLUS, [product(Num(g), Num(v)) for g, v in zip(st.grad_z, st.z, strict=True)])
                rows.append(
                    (
                        d(ELL, p),
                        product(q, Paren(Row(d(ELL, q), Op.MINUS, _sum("k"), d(ELL, Q.el("k")), Q.el("k")))),
                        product(Num(z), Paren(Row(Num(gz), Op.MINUS, Paren(inner)))),
                        Num(ga),
                    )
                )
            else:
                fs, fn = self._derivative(st.activation, q, Num(z))
                rows.append((d(q, p), fs, fn, Num(st.dzda[j - 1])))
                rows.append((d(ELL, p), Row(d(ELL, q), d(q, p)), product(Num(gz), Num(st.dzda[j - 1])), Num(ga)))
        return rows

    @staticmethod
    def _derivative(act: str, q, zv):
        """∂z/∂a written from the output z, as the engine computes it: (symbolic, with numbers)."""
        if act == "tanh":
            return Row(Num(1), Op.MINUS, Power(q, "2")), Row(Num(1), Op.MINUS, Power(zv, "2"))
        if act == "sigmoid":
            op = Op.HADAMARD if isinstance(zv, Mat) else Op.TIMES  # elementwise for vectors
            return (
                Row(q, op, Paren(Row(Num(1), Op.MINUS, q))),
                Row(zv, op, Paren(Row(Num(1), Op.MINUS, zv))),
            )
        if act == "relu":
            return Call(FUNCS["step"], Row(q, Op.GT, Num(0))), Call(FUNCS["step"], Row(zv, Op.GT, Num(0)))
        raise ValueError(act)

    def grad_z_rows(self, s: int, units) -> list:
        """∂ℓ/∂z_j of hidden stage s from the stage above: Σₖ ∂ℓ/∂a'ₖ · W'ₖ,ⱼ."""
        st, up = self.st(s), self.st(s + 1)
        Q, P2, W2 = self.n.post(s), self.n.pre(s + 1), self.n.weight(s + 1)
        rows = []
        for j in units:
            q = Q.el(j)
            if up.width == 1:
                p2 = P2.el(1)
                rows.append(
                    (
                        d(ELL, q),
                        Row(d(ELL, p2), d(p2, q)),
                        product(d(ELL, p2), W2.el(1, j)),
                        product(Num(up.grad_a[0]), Num(up.weights[0, j])),
                        Num(st.grad_z[j - 1]),
                    )
                )
            else:
                terms = [product(Num(up.grad_a[k]), Num(up.weights[k, j])) for k in range(up.width)]
                rows.append(
                    (
                        d(ELL, q),
                        Row(_sum("k"), d(ELL, P2.el("k")), d(P2.el("k"), q)),
                        Row(_sum("k"), d(ELL, P2.el("k")), W2.el("k", j)),
                        joined(Op.PLUS, terms),
                        Num(st.grad_z[j - 1]),
                    )
                )
        return rows

    def chain(self, s: int, j: int) -> list | None:
        """The variables from the top of the network down to the pre-activation of unit j of stage s,
        when that path is a single chain (every stage above has one unit); else None."""
        n = self.n
        if any(self.st(t).width != 1 for t in range(s + 1, self.L + 1)):
            return None
        if self._jacobian(s):
            return None  # softmax: ∂zⱼ/∂aⱼ is not the whole story, every zₖ depends on aⱼ
        top = self.st(self.L)
        unit = j if s == self.L else 1
        vars_ = [n.pre(self.L).el(unit)] if top.fused else [n.post(self.L).el(unit)]
        if not top.fused and not self._merged(self.L):
            vars_.append(n.pre(self.L).el(unit))
        for t in range(self.L - 1, s - 1, -1):
            unit = j if t == s else 1
            vars_.append(n.post(t).el(unit))
            vars_.append(n.pre(t).el(unit))
        return vars_

    def _jacobian(self, s: int) -> bool:
        """True when stage s has a (non-fused) softmax over more than one unit."""
        st = self.st(s)
        return st.activation == "softmax" and not st.fused and st.width > 1

    def weight_rows(self, s: int, cells) -> list:
        st, n = self.st(s), self.n
        W, P = n.weight(s), n.pre(s)
        rows, notes = [], []
        for j, i in cells:
            w = W.el(j, i)
            usym, uval = self.u_el(s, i)
            p = P.el(j)
            chain = self.chain(s, j)
            row = [d(ELL, w)]
            if chain is not None and len(chain) > 1:
                facs = [d(ELL, chain[0])] + [d(a, b) for a, b in zip(chain, chain[1:], strict=False)] + [d(p, w)]
                row.append(Row(*facs))
            else:
                row.append(Row(d(ELL, p), d(p, w)))
            row += [
                product(d(ELL, p), usym),
                product(Num(st.grad_a[j - 1]), Num(uval)),
                Num(st.grad_weights[j - 1, i]),
            ]
            rows.append(tuple(row))
            notes.append(
                Prose(
                    "(finite differences: ",
                    Num(st.numeric[j - 1, i]),
                    ", relative error ",
                    Num(_rel_err(st.grad_weights[j - 1, i], st.numeric[j - 1, i])),
                    ")",
                )
                if self.check and st.numeric is not None
                else None
            )
        return rows, notes

    def _cells(self, s: int):
        st = self.st(s)
        first = 0 if st.bias else 1  # no bias: column 0 is a fixed 0, not a weight with a gradient
        return [(j, i) for j in range(1, st.width + 1) for i in range(first, st.weights.shape[1])]

    def no_bias_note(self, s: int, vector: bool = False) -> Prose:
        W = self.n.weight(s).vec()
        if vector:
            return Prose(
                "This layer has no bias (bias=False): column 0 of ",
                W,
                " stays 0, so column 0 of this product is not used (no gradient).",
            )
        return Prose("This layer has no bias (bias=False): column 0 of ", W, " stays 0 and has no gradient.")

    # --- backward, vector -------------------------------------------------------------------------
    def _v(self, s: int, which: str, arr):
        """A stage's vector quantity: a Num for the single output, else a row vector."""
        single = s == self.L and self.st(s).width == 1
        return Num(arr[0]) if single else Mat(arr)

    def _vs(self, s: int, var):
        single = s == self.L and self.st(s).width == 1
        return var.el(1) if single else var.vec()

    def backward_vector(self) -> list:
        t, n, L = self.t, self.n, self.L
        blocks = []
        top = self.st(L)
        yhv, yv = self._vs(L, n.yhat), self._vs(L, n.y)
        rows = []
        if not top.fused:
            diff = Row(yhv, Op.MINUS, yv)
            nums = Row(self._v(L, "", t.yhat), Op.MINUS, self._v(L, "", t.target))
            if t.loss_name == "mse":
                c = Frac(Num(2), Num(top.width))
                diff, nums = product(c, Paren(diff)), product(c, Paren(nums))
            rows.append((d(ELL, yhv), diff, nums, self._v(L, "", t.grad_yhat)))
        rows += self._act_vector(L)
        blocks.append(("Output layer", self._with_weights_vector(L, rows)))
        for s in range(L - 1, 0, -1):
            st, up = self.st(s), self.st(s + 1)
            Q, P2, W2 = n.post(s), n.pre(s + 1), n.weight(s + 1)
            g2 = self._v(s + 1, "", up.grad_a)
            rows = [
                (
                    d(ELL, Q.vec()),
                    Row(d(ELL, self._vs(s + 1, P2)), W2.hat()),
                    Row(g2, Mat(up.weights[:, 1:])),
                    Mat(st.grad_z),
                )
            ]
            rows += self._act_vector(s)
            blocks.append((self._stage_title(s), self._with_weights_vector(s, rows)))
        return blocks

    def _with_weights_vector(self, s: int, rows: list) -> Equations:
        notes = [None] * len(rows) + ([] if self.st(s).bias else [self.no_bias_note(s, vector=True)])
        return Equations(rows + self._weights_vector(s), notes)

    def _act_vector(self, s: int) -> list:
        st, n = self.st(s), self.n
        if self._merged(s):
            return []
        P, Q = self._vs(s, n.pre(s)), self._vs(s, n.post(s))
        if st.fused:
            return [
                (
                    d(ELL, P),
                    Row(Q, Op.MINUS, self._vs(s, n.y)),
                    Row(self._v(s, "", st.z), Op.MINUS, self._v(s, "", self.t.target)),
                    self._v(s, "", st.grad_a),
                )
            ]
        if st.activation in ("none", "identity"):
            return [(d(ELL, P), d(ELL, Q), self._v(s, "", st.grad_a))]
        if st.activation == "softmax":
            return [
                (
                    d(ELL, P),
                    product(
                        Q,
                        Op.HADAMARD,
                        Paren(Row(d(ELL, Q), Op.MINUS, Paren(Row(d(ELL, Q), Op.TIMES, Power(Q, "T"))))),
                    ),
                    self._v(s, "", st.grad_a),
                )
            ]
        fs, fn = self._derivative(st.activation, Q, self._v(s, "", st.z))
        return [
            (d(Q, P), fs, fn, self._v(s, "", st.dzda)),
            (
                d(ELL, P),
                Row(d(ELL, Q), Op.HADAMARD, d(Q, P)),
                Row(self._v(s, "", st.grad_z), Op.HADAMARD, self._v(s, "", st.dzda)),
                self._v(s, "", st.grad_a),
            ),
        ]

    def _weights_vector(self, s: int) -> list:
        st, n = self.st(s), self.n
        P, U, W = n.pre(s), n.input(s), n.weight(s)
        uhat = np.concatenate([[1.0], st.input])
        single = s == self.L and st.width == 1
        ga = Num(st.grad_a[0]) if single else Mat(st.grad_a[:, None])
        gsym = Row(d(ELL, P.el(1)), U.hat()) if single else Row(Power(d(ELL, P.vec()), "T"), U.hat())
        grad = st.grad_weights
        if not st.bias:  # the product's column 0 is ∂ℓ/∂a; the engine keeps no gradient for a fixed 0
            grad = grad.copy()
            grad[:, 0] = st.grad_a
        rows = [(d(ELL, W.vec()), gsym, Row(ga, Mat(uhat)), Mat(grad))]
        if self.check and st.numeric is not None:
            rows.append((Sym("finite differences", r"\text{finite differences}"), Mat(st.numeric)))
            err = np.abs(grad - st.numeric) / np.maximum(np.abs(grad) + np.abs(st.numeric), 1e-300)
            rows.append((Sym("relative error", r"\text{relative error}"), Mat(np.where(grad == st.numeric, 0.0, err))))
        return rows

    # --- documents --------------------------------------------------------------------------------
    def _stage_title(self, s: int) -> str:
        st = self.st(s)
        act = (
            "softmax, fused with the cross-entropy loss"
            if st.fused
            else ("no activation" if st.activation == "none" else st.activation)
        )
        where = "Output layer" if s == self.L else (f"Hidden layer {s}" if self.L > 2 else "Hidden layer")
        return f"{where} ({act})"

    def summary(self) -> list:
        t, n = self.t, self.n
        widths = " -> ".join(
            [str(t.x.shape[0])] + [f"{s.width} ({'softmax' if s.fused else s.activation})" for s in t.stages]
        )
        loss = LOSS_TEXT[t.loss_name]
        arrow = Sym("->", r"\to")  # pdflatex prints a bare "->" in prose as "-¿"
        parts = widths.split(" -> ")
        net_parts = [p for k, w in enumerate(parts) for p in ((" ", arrow, " ", w) if k else (w,))]
        blocks = [
            Prose(
                "Network: ",
                *net_parts,
                f"; loss: {loss}. Bias folded in: ",
                n.x.el(0),
                " = 1" + (", " if self.L > 1 else ""),
                *[
                    part
                    for h in range(1, self.L)  # every hidden layer's z₀ (z⁽¹⁾₀, z⁽²⁾₀ …)
                    for part in (n.post(h).el(0), " = 1." if h == self.L - 1 else " = 1, ")
                ],
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
        given = [(n.x.vec(), Mat(t.x))]
        if t.label is not None:
            given.append((n.y.vec(), Mat(t.target)))
        else:
            given.append((self._vs(self.L, n.y), self._v(self.L, "", t.target)))
        for s in range(1, self.L + 1):
            given.append((n.weight(s).vec(), Mat(self.st(s).weights)))
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
        for s in range(1, self.L + 1):
            doc.add(Prose(self._stage_title(s) + ":"))
            doc.add(self.forward_vector(s) if form == "vector" else self.forward_scalar(s))
        doc.add(Prose("Loss:"), self.loss_rows())
        doc.add(Heading("Backward pass"))
        if form == "vector":
            for title, eq in self.backward_vector():
                doc.add(Prose(title + ":"), eq)
            return doc
        for s in range(self.L, 0, -1):
            rows = (
                self.top_rows()
                if s == self.L
                else (
                    self.grad_z_rows(s, range(1, self.st(s).width + 1))
                    + self.act_rows(s, range(1, self.st(s).width + 1))
                )
            )
            doc.add(Prose(self._stage_title(s) + ":"))
            if rows:
                doc.add(Equations(rows))
            wrows, notes = self.weight_rows(s, self._cells(s))
            doc.add(Equations(wrows, notes))
            if not self.st(s).bias:
                doc.add(self.no_bias_note(s))
        return doc

    def wrt_document(self, s: int, j: int, i: int) -> Document:
        n = self.n
        w = n.weight(s).el(j, i)
        p = n.pre(s).el(j)
        doc = Document(
            title=f"The derivative with respect to {w.text}, by the chain rule",
            title_latex=f"The derivative with respect to ${w.latex}$, by the chain rule",
        )
        doc.add(*self.summary())
        doc.add(Heading("The chain"))
        chain = self.chain(s, j)
        if chain is not None:
            rows = []
            for m in range(1, len(chain) + 1):
                vs = chain[:m]
                facs = [d(ELL, vs[0])] + [d(a, b) for a, b in zip(vs, vs[1:], strict=False)] + [d(vs[-1], w)]
                rows.append((d(ELL, w) if m == 1 else BLANK, Row(*facs)))
        else:
            q = n.post(s).el(j)
            if self._jacobian(s):
                qk = n.post(s).el("k")
                through_q = Row(_sum("k"), d(ELL, qk), d(qk, p), d(p, w))
            else:
                through_q = Row(d(ELL, q), d(q, p), d(p, w))
            rows = [(d(ELL, w), Row(d(ELL, p), d(p, w)), through_q)]
            for t in range(s, self.L):
                P2 = n.pre(t + 1)
                qq = n.post(t).el(j if t == s else "j")
                rows.append((d(ELL, qq), Row(_sum("k"), d(ELL, P2.el("k")), d(P2.el("k"), qq))))
        doc.add(Equations(rows))
        doc.add(Heading("Evaluated, one step at a time"))
        rows = list(self.top_rows([j] if s == self.L else None))
        for t in range(self.L - 1, s - 1, -1):
            units = [j] if t == s else range(1, self.st(t).width + 1)
            rows += self.grad_z_rows(t, units) + self.act_rows(t, units)
        wrows, notes = self.weight_rows(s, [(j, i)])
        notes = [None] * len(rows) + notes
        doc.add(Equations(rows + wrows, notes))
        return doc
