"""``explain(net, x, y)``: one forward/backward pass of the engine, as a worked solution.

    >>> e = chainrule.explain(net, [1, 2], 3)          # the recitation's section 3.1
    >>> print(e.to_text())                  # or e.to_markdown(), e.to_latex(), e.to_json(), e.to_html()

In Jupyter an ``Explanation`` renders itself as its web page (``_repr_html_``; ``_repr_markdown_`` where
HTML is not shown).
"""

import json
from typing import TYPE_CHECKING, Any

from chainrule.errors import ChainruleError
from chainrule.explain import update
from chainrule.explain.derive import LAYOUTS, Deriver
from chainrule.explain.doc import Document
from chainrule.explain.json_layers import layers_json
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.passes import _flat, has_batchnorm
from chainrule.explain.render import render_document
from chainrule.explain.render_latex import render_latex
from chainrule.explain.render_markdown import render_markdown
from chainrule.explain.render_text import render_text
from chainrule.explain.rules import rule_for
from chainrule.explain.trace import Trace, default_loss, run
from chainrule.explain.wrt import wrt_document
from chainrule.nn.containers import Sequential

if TYPE_CHECKING:
    from chainrule.explain.network_pass import Pass

FORMS = ("scalar", "vector")
DEFAULT_DIGITS = 8  # significant digits: every number of the recitation's section 3 to at least its digits


def number_format(decimals: int | None = None, digits: int | None = None) -> NumberFormat:
    """How the explainer writes numbers: ``digits`` significant digits (8 by default) or ``decimals``."""
    if decimals is not None and digits is not None:
        raise ChainruleError(f"give decimals or digits, not both (got decimals={decimals}, digits={digits})")
    if decimals is not None:
        return NumberFormat(decimals, unicode=True)
    return NumberFormat(digits=DEFAULT_DIGITS if digits is None else digits, unicode=True)


class Explanation:
    """The values of one pass (``trace``) and how to write them (form, --wrt target, digits)."""

    def __init__(
        self,
        trace: Trace,
        form: str = "scalar",
        wrt: str | None = None,
        decimals: int | None = None,
        check: bool = False,
        digits: int | None = None,
        layout: str = "row",
        net_pass: "Pass | None" = None,
    ):
        if form not in FORMS:
            raise ChainruleError(f"form {form!r} is not one of {', '.join(FORMS)}")
        if layout not in LAYOUTS:
            raise ChainruleError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}")
        if wrt is not None and form == "vector":
            raise ChainruleError(
                f"--wrt {wrt!r} with --form vector: --wrt writes one weight's chain, a scalar; "
                "leave out --form vector (the vector form shows every gradient as a matrix)"
            )
        norm = next((s for s in trace.steps if rule_for(s.layer, s.index).normalises), None)
        if wrt is not None and norm is not None:
            raise ChainruleError(
                f"--wrt {wrt!r}: layer {norm.index} is {type(norm.layer).__name__}, and --wrt writes one product "
                "of single factors; leave out --wrt (the full derivation writes every step through it)"
            )
        self._trace, self.form, self.wrt, self.check, self.layout = trace, form, wrt, check, layout
        self.p = net_pass  # every layer's record (JSON ``layers``) and the --lr update
        self.fmt = number_format(decimals, digits)
        self._deriver = Deriver(trace, check=check, layout=layout)
        self.target = self._deriver.n.parse_wrt(wrt) if wrt is not None else None  # (stage, j, i)
        if self.target is not None and self.target[2] == 0 and not trace.stages[self.target[0] - 1].bias:
            raise ChainruleError(
                f"--wrt {wrt!r}: that layer has no bias (bias=False); column 0 is fixed at 0 and has no gradient"
            )

    @property
    def trace(self) -> Trace:
        """The dense network's pass: every stage's values (read-only: the explanation is of this pass)."""
        return self._trace

    @property
    def dense_notation(self) -> Any:
        return self._deriver.n

    @property
    def document(self) -> Document:
        if self.target is not None:
            return wrt_document(self._deriver, *self.target)
        doc = self._deriver.document(self.form)
        return doc.add(*update.section(self)) if self.p is not None else doc

    def to_text(self) -> str:
        return render_text(self.document, self.fmt)

    def to_markdown(self) -> str:
        return render_markdown(self.document, self.fmt)

    def to_latex(self, standalone: bool = False) -> str:
        return render_latex(self.document, self.fmt, standalone=standalone)

    def to_dict(self) -> dict:
        """Every engine value at full precision; see ``Trace.to_dict``. Layer names are α/β's."""
        out = self.trace.to_dict()
        for s, layer in enumerate(out["layers"], start=1):
            layer["name"] = self._deriver.n.name(s)
        if self.p is not None:  # every layer, in order; the Linear ones keep the dense keys above
            names = [layer["name"] for layer in out["layers"]]
            out["layers"] = layers_json(self.p, self.trace, names)
            out.update(update.json(self.p))
        if self.target is not None:
            s, j, i = self.target
            st = self.trace.stages[s - 1]
            out["wrt"] = {
                "name": self.wrt,
                "layer": s,
                "row": j,
                "column": i,
                "value": float(st.grad_weights[j - 1, i]),
                **({"numeric": float(st.numeric[j - 1, i])} if st.numeric is not None else {}),
            }
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    def to_html(self) -> str:
        """One self-contained web page: the network picture, then the derivation, linked (no request)."""
        from chainrule.explain.web.network import explanation_page

        return explanation_page(self)

    def render(self, fmt: str = "text", standalone: bool = False) -> str:
        if fmt == "json":
            return self.to_json()
        if fmt == "html":
            return self.to_html()
        return render_document(self.document, fmt, self.fmt, standalone=standalone)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        """The page in an iframe (``srcdoc``): its style and script stay inside, off the notebook's own."""
        from html import escape

        return (
            f'<iframe srcdoc="{escape(self.to_html(), quote=True)}" title="worked solution" '
            'style="width: 100%; height: 720px; border: 1px solid #ddd"></iframe>'
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<Explanation form={self.form!r} wrt={self.wrt!r} loss={self.trace.loss!r}>"


def explain(
    net: Any,
    x: Any,
    y: Any,
    loss: Any = None,
    *,
    form: str = "scalar",
    wrt: str | None = None,
    decimals: int | None = None,
    round_each_step: bool = False,
    check: bool = False,
    digits: int | None = None,
    layout: str = "row",
    lr: float | None = None,
    steps: int = 0,
    cells: int = 9,
) -> Explanation:
    """Run ``net`` forward and backward on one example and return the worked derivation.

    net : a ``Sequential`` of Linear layers, each optionally followed by tanh/sigmoid/relu/identity/softmax
        (or a ``torch.nn.Sequential`` of the same, converted with ``interop.torch.from_torch``;
        x, y may then be tensors and loss a torch MSELoss / CrossEntropyLoss)
    x : (in,) one example;  y : the target (a number or vector; a class label or one-hot for cross-entropy)
    loss : SquaredError (default), MSELoss or CrossEntropyLoss (default when the net ends in Softmax;
        a final Softmax is then fused into the loss, PyTorch's form: ∂ℓ/∂b = ŷ − y)
    form : "scalar" (every aⱼ = Σᵢ αⱼ,ᵢ xᵢ written out) or "vector" (a = x̂ αᵀ …)
    wrt : one weight, e.g. "alpha[1,1]", "beta[1]", "alpha2[1,3]": only its chain rule
    digits : significant digits (8 by default: every number of the recitation's section 3 to at least
        the digits it prints); decimals : digits after the point instead (``decimals=5``: 4.91807);
    round_each_step : the engine rounds every intermediate to what is printed before using it;
    check : also central finite differences for each gradient; layout : the vector form with row
        vectors (section 3.2, a = x̂ αᵀ) or column vectors (section 3.3, a = α x̂)
    """
    from chainrule.interop.torch import as_chainrule, as_numpy, loss_from_torch

    # a PyTorch-built network, tensors or loss become their chainrule twins (torch is not imported)
    net, x, y, loss = as_chainrule(net), as_numpy(x), as_numpy(y), loss_from_torch(loss)
    import copy

    net = copy.deepcopy(net)  # the pass zeroes and fills gradients and caches: never the caller's network
    fmt = number_format(decimals, digits)
    round_fn = fmt.round_array if round_each_step else None
    from chainrule.explain.cnn import explain_image_network, is_image_network
    from chainrule.explain.network_pass import check_lr, run_pass

    check_lr(lr, steps)
    if cells < 1:
        raise ChainruleError(f"--cells {cells}: must be at least 1")
    if is_image_network(net):
        return explain_image_network(net, x, y, loss, fmt, round_fn, form, wrt, check, lr, steps, cells)
    trace = run(net, x, y, loss, round_fn=round_fn, check=check)
    batched = has_batchnorm(Sequential(*_flat(net)))  # BatchNorm takes a batch: a batch of one
    p = run_pass(net, trace.x, trace.y, loss if loss is not None else default_loss(net), round_fn, batched)
    p.update(lr, steps)
    return Explanation(
        trace, form=form, wrt=wrt, decimals=decimals, check=check, digits=digits, layout=layout, net_pass=p
    )
