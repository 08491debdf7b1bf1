"""= or ≈: whether a printed line holds on its printed operands at its printed precision.

A line ``lhs = … = 1.9180739 · 2 = 3.8361477`` shows rounded operands; recomputed from them it gives
3.8361478, so it is written ``1.9180739 · 2 ≈ 3.8361477``. ``relations(row, fmt)`` evaluates the row's
last numeric expression from the numbers *as printed* (``fmt.round``) and compares it, rounded as results
are printed, with the printed result; only the relation before the result can change. The values printed
are still the engine's: this only decides the sign between them.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.explain.doc import Call, Frac, Mat, Node, Num, Op, Paren, Power, Row, Sym
from chainrule.explain.numbers import NumberFormat

EQ, APPROX = "=", "≈"
_FUNCS: dict[str, Callable[..., Any]] = {
    "tanh": np.tanh,
    "tanh²": lambda a: np.tanh(a) ** 2,
    "σ": lambda a: 1 / (1 + np.exp(-a)),
    "exp": np.exp,
    "√": np.sqrt,
    "log": np.log,
    "−log": lambda a: -np.log(a),
    "diag": lambda a: np.diag(np.ravel(a)),
    "Φ": lambda a: 0.5 * (1 + np.vectorize(math.erf)(np.asarray(a, dtype=float) / math.sqrt(2))),
    "φ": lambda a: np.exp(-0.5 * np.asarray(a, dtype=float) ** 2) / math.sqrt(2 * math.pi),
}
_COMPARE = {">": np.greater, "≤": np.less_equal}
_CONST = {"½": 0.5}


class _Symbolic(Exception):
    """The expression holds a symbol: it is not arithmetic on printed numbers."""


def _mul(a: Any, b: Any, op: str) -> Any:
    if op == "⊙" or np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    return np.asarray(a) @ np.asarray(b)  # juxtaposed vectors and matrices: the matrix product


def _term(items: list, fmt: NumberFormat) -> Any:
    """A product of factors (joined by ·, ⊙ or juxtaposition)."""
    value, op = None, "·"
    for it in items:
        if isinstance(it, Op):
            if it.text not in ("·", "⊙"):
                raise _Symbolic
            op = it.text
            continue
        v = value_of(it, fmt)
        value = v if value is None else _mul(value, v, op)
        op = "·"
    if value is None:
        raise _Symbolic
    return value


def _row(items: Sequence[Node], fmt: NumberFormat) -> Any:
    """Terms joined by + and − (a leading − negates), each a product."""
    total: Any = None
    sign = 1.0
    current: list[Node] = []
    items = list(items)
    if items and isinstance(items[0], Sym) and items[0].text == "−":  # −(…), −log …
        items, sign = items[1:], -1.0
    for it in [*items, Op("+", "+")]:
        if isinstance(it, Op) and it.text in ("+", "−"):
            if current:
                t = sign * _term(current, fmt)
                total = t if total is None else total + t
            elif it.text == "+":
                raise _Symbolic
            sign, current = (1.0 if it.text == "+" else -1.0), []
        else:
            current.append(it)
    if total is None:
        raise _Symbolic
    return total


def value_of(node: Node, fmt: NumberFormat) -> Any:
    """The value of a numeric expression from its printed numbers; ``_Symbolic`` when it holds a symbol."""
    if isinstance(node, Num):
        return fmt.round(node.value)
    if isinstance(node, Mat):
        return fmt.round_array(np.asarray(node.array, dtype=float))
    if isinstance(node, Sym):
        if node.text in _CONST:
            return _CONST[node.text]
        raise _Symbolic
    if isinstance(node, Paren):
        return value_of(node.item, fmt)
    if isinstance(node, Frac):
        return value_of(node.num, fmt) / value_of(node.den, fmt)
    if isinstance(node, Power):
        base = value_of(node.base, fmt)
        if node.exp == "T":
            return np.asarray(base).T
        if node.exp.isdigit():
            return base ** int(node.exp)
        raise _Symbolic
    if isinstance(node, Call):
        return _call(node, fmt)
    if isinstance(node, Row):
        return _row(node.items, fmt)
    raise _Symbolic


def _call(node: Call, fmt: NumberFormat) -> Any:
    name, arg = node.name.text, node.arg
    if name in ("max", "min") and isinstance(arg, Row) and len(arg.items) == 3:
        pick = np.maximum if name == "max" else np.minimum
        return pick(value_of(arg.items[0], fmt), value_of(arg.items[2], fmt))
    if name == "𝟙" and isinstance(arg, Row) and len(arg.items) == 3 and arg.items[1].text in _COMPARE:
        return _COMPARE[arg.items[1].text](value_of(arg.items[0], fmt), value_of(arg.items[2], fmt)).astype(float)
    if name in _FUNCS:
        with np.errstate(all="ignore"):
            return _FUNCS[name](value_of(arg, fmt))
    raise _Symbolic


def _holds(value: Any, printed: np.ndarray, fmt: NumberFormat) -> bool:
    """Each element of ``value``, rounded as printed, is the printed result (an exact tie may go either way)."""
    value = np.broadcast_to(np.asarray(value, dtype=float), printed.shape)
    for v, p in zip(value.ravel(), printed.ravel(), strict=True):
        if not math.isfinite(v) or fmt.round(v) != p:
            ulp = _ulp(p, fmt)
            if not (math.isfinite(v) and abs(abs(v - p) - ulp / 2) < 1e-9 * max(1.0, abs(v))):
                return False
    return True


def _ulp(p: float, fmt: NumberFormat) -> float:
    """One unit in the last printed place of ``p``."""
    m, e = fmt.parts(p)
    places = len(m.split(".")[1]) if "." in m else 0
    return 10.0 ** ((e or 0) - places)


def relations(row: tuple, fmt: NumberFormat) -> list[str]:
    """The relation before each right-hand side of ``row`` (``lhs = r₁ = r₂ …``): "=" or "≈"."""
    rels = [EQ] * (len(row) - 1)
    if len(row) < 3 or not isinstance(row[-1], (Num, Mat)):
        return rels
    try:
        value = value_of(row[-2], fmt)
    except (_Symbolic, ValueError, ZeroDivisionError):
        return rels
    res = row[-1]
    printed = np.asarray(value_of(res, fmt), dtype=float)
    if np.shape(value) != printed.shape and np.size(value) != printed.size:
        return rels
    if not _holds(np.reshape(value, printed.shape), printed, fmt):
        rels[-1] = APPROX
    return rels
