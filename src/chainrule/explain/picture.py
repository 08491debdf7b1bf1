"""The network of a ``Trace`` as a ``draw.Graph``: the recitation's Figures 1–3, from the engine's values.

    g = network_graph(trace, extended=True, values=True, wrt=(1, 1, 1))   # Figure 2, ∂ℓ/∂α₁,₁'s chain lit
    svg = draw.to_svg(draw.layout(g))

Compact form (Figures 1 and 3): one node per unit (its output z), the +1 bias nodes x₀, z₀ on top, edges
labelled with their weights. Extended form (Figure 2): each layer split into its linear-combination
nodes a and its activation nodes z. Every node and edge carries its quantity name (qid: ``z[1]``,
``alpha[1,1]``), the name the explainer's lines carry, so a page can link the two.
Every number is an array element of the trace (a value the engine cached); nothing is recomputed.
"""

from typing import Any

from chainrule.draw.graph import Edge, Graph, Node
from chainrule.explain.doc import qid_of
from chainrule.explain.notation import Notation, Var
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.trace import Trace

LABELS = ("auto", "numbers", "symbols", "none")
MAX_LABELLED_EDGES = 40
MAX_ROWS = 10  # a wider layer shows its first 7 and last 2 units, with ⋮ between


def qid(var: Var, *index: Any) -> str:
    """The element's quantity name, the one the explainer's lines carry (``doc.qid_of`` of the printed
    symbol): x[1], z[2], alpha[1,1], beta[3], yhat, a2[1]."""
    return qid_of(var.el(*index))


def notation(trace: Trace) -> Notation:
    """The explainer's symbols for this trace's network (``Notation`` of its widths and activations)."""
    n = Notation([s.width for s in trace.stages], [s.activation for s in trace.stages])
    n.in_width0 = trace.x.shape[0]
    return n


def _shown(width: int) -> list[int]:
    return list(range(1, width + 1)) if width <= MAX_ROWS else [*range(1, 8), width - 1, width]


def network_graph(
    trace: Trace,
    fmt: NumberFormat | None = None,
    *,
    extended: bool = False,
    values: bool = False,
    backward: bool = False,
    labels: str = "auto",
    wrt: tuple[int, int, int] | None = None,
) -> Graph:
    """``wrt`` = (stage, j, i) lights the chain of partial derivatives from that weight to the loss."""
    fmt = fmt or NumberFormat(5)
    n, stages, L = notation(trace), trace.stages, len(trace.stages)
    num = fmt.text
    widths = " → ".join([str(trace.x.shape[0])] + [f"{s.width} ({s.activation})" for s in stages])
    g = Graph(columns=["input"], title=f"Network: {widths}; loss: {trace.loss_name}")

    def unit(
        var: Var, j: int, column: int, value: Any = None, grad: Any = None, title: str = "", also: Var | None = None
    ) -> Node:
        node = Node(qid(var, j), var.el(j).text, column, title=title or var.el(j).text)
        if also is not None:
            node.also = (qid(also, j),)
        if values and value is not None:
            node.value = num(value)
        if backward and grad is not None:
            node.grad = num(grad)
        g.nodes.append(node)
        return node

    def bias(var: Var, column: int) -> None:
        g.nodes.append(
            Node(
                qid(var, 0),
                "+1",
                column,
                bias=True,
                caption=var.el(0).text,
                title=f"{var.el(0).text} = 1 (the bias input)",
            )
        )

    shown = values or backward
    # per edge index: ((∂dst/∂src, value) on a chain through it, (∂dst/∂weight, value) when it is the chain's start)
    factors: dict[int, tuple] = {}

    def factor(k: int, num_s: str, den_s: str, v: Any, start: Any = None) -> None:
        on = (f"∂{num_s}/∂{den_s}", num(v) if shown and v is not None else "")
        factors[k] = (on, start or on)

    def elide(column: int, width: int) -> None:
        if width > MAX_ROWS:
            g.elided[column] = width - MAX_ROWS + 1

    # the input column; then each stage's columns (its units' inputs are the previous column's nodes)
    if stages[0].bias:
        bias(n.x, 0)
    for i in _shown(trace.x.shape[0]):
        unit(n.x, i, 0, trace.x[i - 1])
    elide(0, trace.x.shape[0])
    col = 0
    for s, st in enumerate(stages, start=1):
        W, P, Q, U = n.weight(s), n.pre(s), n.post(s), n.input(s)
        split = extended
        if split and n.merged(s):  # Figure 2 splits the output too: b, then ŷ = b (∂ŷ/∂b = 1)
            P = Var("b", "b", indexed=st.width > 1)
        last = s == L
        act = st.activation + (" + loss" if st.fused else "")
        head = "output" if last else (f"hidden {s}" if L > 2 else "hidden")
        target = P if split or n.merged(s) else Q  # the node an edge of W ends at
        col += 1
        if split:
            g.columns.append(f"{head}: linear")
            for j in _shown(st.width):
                unit(P, j, col, st.a[j - 1], st.grad_a[j - 1])
            elide(col, st.width)
            col += 1
            g.columns.append(f"{head}: {act}")
        else:
            g.columns.append(f"{head} ({act})")
        if not last and stages[s].bias:
            bias(Q, col)
        for j in _shown(st.width):
            unit(
                Q,
                j,
                col,
                st.z[j - 1],
                st.grad_z[j - 1],
                title=f"{Q.el(j).text}" + ("" if split or n.merged(s) else f" = {st.activation}({P.el(j).text})"),
                also=None if split or n.merged(s) else P,  # one node stands for both aⱼ and zⱼ
            )
        elide(col, st.width)
        for j in _shown(st.width):
            if split:
                many = st.activation == "softmax"  # each ŷₖ depends on every bₖ
                for k in _shown(st.width) if many else [j]:
                    g.edges.append(
                        Edge(
                            qid(P, k), qid(Q, j), f"d{qid(Q, j)}/d{qid(P, k)}", title=f"∂{Q.el(j).text}/∂{P.el(k).text}"
                        )
                    )
                    local = st.dzda[j - 1] if st.dzda is not None and not many else None
                    factor(
                        len(g.edges) - 1,
                        Q.el(j).text,
                        P.el(k).text,
                        1.0 if st.activation in ("none", "identity") else local,
                    )
            for i in range(0 if st.bias else 1, st.weights.shape[1]):
                if i and i not in _shown(st.input.shape[0]):
                    continue
                w = float(st.weights[j - 1, i])
                label = {"numbers": num(w), "symbols": W.el(j, i).text}.get(labels, "")
                g.edges.append(
                    Edge(
                        qid(U, i),
                        qid(target, j),
                        qid(W, j, i),
                        label,
                        w,
                        num(st.grad_weights[j - 1, i]) if backward else "",
                        title=f"{W.el(j, i).text} = {num(w)}",
                    )
                )
                u = 1.0 if i == 0 else st.input[i - 1]  # ∂a/∂α is the input α multiplies
                factor(
                    len(g.edges) - 1,
                    target.el(j).text,
                    U.el(i).text,
                    w,
                    start=(f"∂{target.el(j).text}/∂{W.el(j, i).text}", num(u) if shown else ""),
                )
    g.columns.append(f"loss ({trace.loss_name})")
    col += 1
    g.nodes.append(Node("loss", "ℓ", col, value=num(trace.loss) if values else "", title="ℓ, the loss"))
    for k in _shown(stages[-1].width):
        g.edges.append(Edge(qid(n.post(L), k), "loss", "loss", title=f"∂ℓ/∂{n.post(L).el(k).text}"))
        factor(len(g.edges) - 1, "ℓ", n.post(L).el(k).text, trace.grad_yhat[k - 1])
    if labels == "auto" and len(g.edges) > MAX_LABELLED_EDGES:
        g.by_weight = True
        for e in g.edges:
            e.grad = ""
    elif labels == "auto":
        for e in g.edges:
            if e.weight is not None:
                e.label = num(e.weight)
    if values:
        g.notes.append(
            f"y = {', '.join(num(v) for v in trace.target)}"
            if trace.target.size > 1
            else f"y = {num(float(trace.target[0]))}"
        )
    if backward:  # two numbers under a node: say which is which
        g.notes.append(("blue: forward values; " if values else "") + "red: ∂ℓ/∂ of each node and weight")
    if wrt is not None:
        _light(g, factors, qid(n.weight(wrt[0]), wrt[1], wrt[2]), extended)
    return g


def _light(g: Graph, factors: dict, wrt_qid: str, extended: bool) -> None:
    """Light the weight's edge and every path from it to the loss; in the extended form label each lit
    edge with its local partial derivative (and its value), the factors of the chain rule."""
    first = next(k for k, e in enumerate(g.edges) if e.qid == wrt_qid)
    lit_nodes, lit, frontier = {g.edges[first].dst}, [first], [g.edges[first].dst]
    while frontier:
        q = frontier.pop()
        for k, e in enumerate(g.edges):
            if e.src == q and k not in lit:
                lit.append(k)
                if e.dst not in lit_nodes:
                    lit_nodes.add(e.dst)
                    frontier.append(e.dst)
    for node in g.nodes:
        node.lit = node.qid in lit_nodes
    for k in lit:
        e = g.edges[k]
        e.lit = True
        if extended:
            e.label, e.grad = factors[k][1] if k == first else factors[k][0]
