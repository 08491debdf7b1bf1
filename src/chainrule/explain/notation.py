"""The symbols of an explanation: the recitation's for one hidden layer, generalised for more.

With L linear layers (stages), numbered 1…L:
- the input is x (x̂ = [1, x], x₀ = 1);
- a hidden stage l < L has weights α, pre-activation a and output z, with a superscript ⁽ˡ⁾ when
  there is more than one hidden stage: α⁽¹⁾, a⁽¹⁾, z⁽¹⁾, α⁽²⁾ …;
- the output stage has weights β, pre-activation b and output ŷ; with no output activation b is ŷ
  itself and only ŷ is written (the recitation's ŷ = Σⱼ βⱼ zⱼ);
- units are numbered from 1 (index j of the layer's own units, i of its inputs, 0 for the bias);
  a single output is written without an index (ŷ, b, βⱼ), several as ŷₖ, bₖ, βₖ,ⱼ.
For one hidden layer this is exactly the recitation's x, α, a, z, β, b, ŷ, ℓ.

``--wrt`` names: ``alpha[j,i]`` / ``beta[j]`` / ``beta[k,j]``, and ``alpha1[j,i]`` (or ``alpha(1)[j,i]``)
for stage 1 of a deeper network.
"""

import re
from dataclasses import dataclass
from typing import Any

from chainrule.errors import ChainruleError
from chainrule.explain.doc import Sym, sub_text, sup_text

# superscript layer numbers and subscript indices as printed (α⁽¹⁾₁,₂) -> α(1)_1,_2
_SCRIPTS = str.maketrans(
    {
        **{c: str(d) for d, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
        "⁽": "(",
        "⁾": ")",
        **{c: f"_{d}" for d, c in enumerate("₀₁₂₃₄₅₆₇₈₉")},
    }
)


@dataclass(frozen=True)
class Var:
    """A family of symbols: its elements (a₁), its vector (a), and its augmented vector (x̂)."""

    text: str
    latex: str
    layer: int | None = None
    indexed: bool = True  # False: a single output written without an index (ŷ, b)
    greek: bool = False

    def _sup(self) -> tuple[str, str]:
        return (sup_text(f"({self.layer})"), f"^{{({self.layer})}}") if self.layer is not None else ("", "")

    def el(self, *index: Any) -> Sym:
        st, sl = self._sup()
        idx = [str(i) for i in index]
        if not self.indexed:  # single output: ŷ, b, and β's row index dropped
            idx = idx[1:] if len(idx) > 1 else []
        if not idx:
            return Sym(self.text + st, self.latex + sl)
        j = ",".join(idx)
        return Sym(self.text + st + sub_text(j), self.latex + sl + f"_{{{j}}}")

    def vec(self) -> Sym:
        st, sl = self._sup()
        bold = (
            rf"\boldsymbol{{{self.latex}}}"
            if self.greek
            else (self.latex if self.latex.startswith("\\hat") else rf"\mathbf{{{self.latex}}}")
        )
        return Sym(self.text + st, bold + sl)

    def hat(self) -> Sym:
        """x̂ = [1, x] for inputs; for weights, the recitation's β̂: the matrix without its bias column."""
        st, sl = self._sup()
        bold = rf"\boldsymbol{{{self.latex}}}" if self.greek else rf"\mathbf{{{self.latex}}}"
        return Sym(self.text + "\u0302" + st, rf"\hat{{{bold}}}" + sl)


class Notation:
    """Symbols for a network whose stages have the given output widths and activations."""

    def __init__(self, widths: list[int], activations: list[str]):
        self.L = len(widths)
        self.widths = widths
        self.activations = activations
        hidden_sup = self.L > 2
        single = widths[-1] == 1
        self.x = Var("x", "x")
        self.y = Var("y", "y", indexed=not single)
        self.yhat = Var("ŷ", r"\hat{y}", indexed=not single)
        self._stages = []
        for s in range(1, self.L + 1):
            if s < self.L:
                lay = s if hidden_sup else None
                self._stages.append((Var("α", r"\alpha", lay, greek=True), Var("a", "a", lay), Var("z", "z", lay)))
            else:
                merged = activations[-1] in ("none", "identity")
                pre = self.yhat if merged else Var("b", "b", indexed=not single)
                self._stages.append((Var("β", r"\beta", indexed=not single, greek=True), pre, self.yhat))

    def weight(self, s: int) -> Var:
        return self._stages[s - 1][0]

    def pre(self, s: int) -> Var:
        return self._stages[s - 1][1]

    def post(self, s: int) -> Var:
        return self._stages[s - 1][2]

    first_input: Var | None = None  # what feeds stage 1 when it is not x (a CNN's flattened f)
    # BatchNorms are numbered across the whole network (γ⁽¹⁾ on a map, γ⁽²⁾ after Flatten): how many come
    # before this dense part, and how many there are in all (None: only this part's)
    norm_offset: int = 0
    norm_total: int | None = None

    def input(self, s: int) -> Var:
        if s == 1:
            return self.first_input or self.x
        return self.post(s - 1)

    def merged(self, s: int) -> bool:
        """True when the stage's pre-activation and output are one symbol (output without activation)."""
        return self.pre(s) is self.post(s)

    def name(self, s: int) -> str:
        """The --wrt / JSON name of stage s's weights: alpha, alpha1, alpha2 …, beta."""
        if s == self.L:
            return "beta"
        return "alpha" if self.L == 2 else f"alpha{s}"

    def parse_wrt(self, text: str) -> tuple[int, int, int]:
        """'alpha[1,1]' -> (stage, j, i) with j from 1 and i from 0, or a clear error.

        The printed symbols work too, copied from the output: 'α⁽¹⁾₁,₂' is alpha1[1,2], 'β₃' is beta[3].
        """
        plain = text.translate(_SCRIPTS)
        sub = re.fullmatch(r"(.*?)((?:_\d+)+(?:,_\d+)?)\s*", plain)  # α(1)_1,_2 -> α(1)[1,2]
        if sub and "[" not in plain:
            plain = f"{sub[1]}[{sub[2].replace('_', '')}]"
        m = re.fullmatch(r"\s*(alpha|beta|α|β)\s*(?:\^?\(?(\d+)\)?)?\s*\[\s*(\d+)\s*(?:,\s*(\d+)\s*)?\]\s*", plain)
        names = ", ".join(self._wrt_examples())
        if not m:
            raise ChainruleError(f"--wrt {text!r}: expected a weight such as {names}")
        kind, layer, first, second = m.groups()
        kind = {"α": "alpha", "β": "beta"}.get(kind, kind)
        if kind == "beta":
            if layer is not None:
                raise ChainruleError(f"--wrt {text!r}: beta is the output layer and takes no layer number")
            s = self.L
        else:
            if self.L == 1:
                raise ChainruleError(f"--wrt {text!r}: this network has no hidden layer, only beta")
            if layer is None:
                if self.L > 2:
                    raise ChainruleError(
                        f"--wrt {text!r}: this network has {self.L - 1} hidden layers; "
                        f"name one, e.g. alpha1[1,1] … alpha{self.L - 1}[1,1]"
                    )
                s = 1
            else:
                s = int(layer)
                if not 1 <= s < self.L or (self.L == 2 and s != 1):
                    raise ChainruleError(
                        f"--wrt {text!r}: no hidden layer {s}; expected one of {', '.join(self._wrt_examples())}"
                    )
        out, cols = self.widths[s - 1], self._in_width(s) + 1
        if second is None:
            if kind == "beta" and out == 1:
                j, i = 1, int(first)
            else:
                raise ChainruleError(f"--wrt {text!r}: {self.name(s)} is {out}×{cols}; give two indices [j,i]")
        else:
            j, i = int(first), int(second)
        if not (1 <= j <= out and 0 <= i < cols):
            want = (
                f"beta[0…{cols - 1}]"
                if kind == "beta" and out == 1
                else f"{self.name(s)}[j,i] with j in 1…{out} and i in 0…{cols - 1}"
            )
            raise ChainruleError(f"--wrt {text!r}: no such weight; expected {want} (i = 0 is the bias)")
        return s, j, i

    def _in_width(self, s: int) -> int:
        return self.in_width0 if s == 1 else self.widths[s - 2]

    in_width0: int = 0

    def _wrt_examples(self) -> list[str]:
        out = [f"{self.name(s)}[1,1]" for s in range(1, self.L)]
        out.append("beta[1]" if self.widths[-1] == 1 else "beta[1,1]")
        return out
