"""The chain of variables from the loss down to one unit of a dense stage (equations 3–6 of the recitation).

``chain(n, stages, s, j)`` lists ŷ, b, z, a … down to the pre-activation of unit j of stage s, when that
path is a single chain (every stage above has one unit), so that ∂ℓ/∂αⱼ,ᵢ can be written as one product
of partial derivatives; None when the gradient is a sum over several paths.
"""

from typing import TYPE_CHECKING

from chainrule.explain.doc import Sym
from chainrule.explain.notation import Notation

if TYPE_CHECKING:
    from chainrule.explain.trace import Stage


def jacobian(st: "Stage") -> bool:
    """True when the stage has a (non-fused) softmax over more than one unit: ∂zⱼ/∂aⱼ is not the whole story."""
    return st.activation == "softmax" and not st.fused and st.width > 1


def chain(n: Notation, stages: "list[Stage]", s: int, j: int) -> list[Sym] | None:
    """The variables from the top of the network down to aⱼ of stage s, or None (see the module docstring)."""
    L = len(stages)
    if any(stages[t - 1].norms for t in range(s, L + 1)):
        return None  # a BatchNorm on the path: ∂ℓ/∂a is written step by step, not as one product
    if any(stages[t - 1].width != 1 for t in range(s + 1, L + 1)) or jacobian(stages[s - 1]):
        return None
    top = stages[L - 1]
    unit = j if s == L else 1
    vars_ = [n.pre(L).el(unit)] if top.fused else [n.post(L).el(unit)]
    if not top.fused and not n.merged(L):
        vars_.append(n.pre(L).el(unit))
    for t in range(L - 1, s - 1, -1):
        unit = j if t == s else 1
        vars_.append(n.post(t).el(unit))
        vars_.append(n.pre(t).el(unit))
    return vars_
