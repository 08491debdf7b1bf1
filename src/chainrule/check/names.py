"""The learner's names for quantities -> the explainer's qids (docs/explain.md, "Quantity names").

Accepted spellings, besides the qids themselves (``a[1]``, ``dl/dalpha[1,1]``, ``alpha2[1,0]``):
- the index without brackets or after an underscore: ``a1``, ``z_2``, ``dl/da1``, ``dl/dalpha11``,
  ``dl/dalpha_{1,1}``; in a deeper network the layer number after the letter (``a2[1]``, ``alpha2[j,i]``);
- the printed symbols: ``α₁,₁``, ``ŷ``, ``ℓ``, ``∂ℓ/∂β₁``, ``a⁽²⁾₁``;
- the loss as ``loss``, ``l``, ``ℓ``, ``J`` or ``L`` (also in ``dJ/dyhat``), ``y_hat`` for ``yhat``;
- a whole vector or matrix (``a``, ``dl/dbeta``, ``dl/dalpha``, ``Y``) given as a list: its elements in
  index order, row by row;
- output sizes: ``output = 5x4`` (``output rows``, ``output columns`` one at a time; also ``rows`` / ``H_out``
  and ``columns`` / ``cols`` / ``W_out``).
"""

import difflib
import re

_SUB = {c: str(k) for k, c in enumerate("₀₁₂₃₄₅₆₇₈₉")}
_SUP = {c: str(k) for k, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
_GREEK = {"α": "alpha", "β": "beta", "ŷ": "yhat", "ℓ": "loss", "∂": "d"}
BASES = (
    "alpha",
    "beta",
    "yhat",
    "y_hat",
    "loss",
    "xhat",
    "zhat",
    "a",
    "b",
    "z",
    "x",
    "y",
    "X",
    "Y",
    "F",
    "B",
    "Z",
    "P",
)
LOSS_NAMES = ("loss", "l", "J", "L", "ℓ")
SIZE_NAMES = {
    "output rows": "output rows",
    "rows": "output rows",
    "h_out": "output rows",
    "output columns": "output columns",
    "columns": "output columns",
    "cols": "output columns",
    "w_out": "output columns",
}
SIZE = ("output rows", "output columns")
_REST = re.compile(r"^(\d*)(\+?)(?:\[([\d,\s]+)\]|_\{?([\d,]+)\}?)?$")


def _ascii(name: str) -> str:
    """Printed symbols in ASCII: α⁽²⁾₁,₀ -> alpha(2)_1,0; ∂ℓ/∂ŷ -> dloss/dyhat."""
    out, sub = [], False
    for ch in name.strip():
        if ch in _SUB or (sub and ch == ","):
            out.append(("_" if not sub else "") + _SUB.get(ch, ch))
            sub = True
            continue
        sub = False
        if ch in _SUP:
            out.append(_SUP[ch])
        elif ch in "⁽⁾":
            continue
        elif ch == "\u0302":  # a combining circumflex: x̂ -> xhat
            out.append("hat")
        else:
            out.append(_GREEK.get(ch, ch))
    return "".join(out).replace(" ", "").replace("(", "").replace(")", "")


def _symbols(text: str) -> list[str]:
    """Candidate qid spellings of one symbol such as 'a1', 'alpha2[1,0]', 'z_2' (most likely first)."""
    for base in sorted(BASES, key=len, reverse=True):
        if not text.startswith(base):
            continue
        m = _REST.match(text[len(base) :])
        if not m:
            continue
        digits, plus, idx1, idx2 = m.groups()
        name = "yhat" if base == "y_hat" else base
        idx = (idx1 or idx2 or "").replace(" ", "")
        if idx:
            return [f"{name}{digits}{plus}[{idx}]"]
        if not digits:
            return [name + plus]
        out = [f"{name}{plus}[{digits}]", f"{name}{digits}{plus}"]
        if len(digits) == 2:
            out.insert(1, f"{name}{plus}[{digits[0]},{digits[1]}]")
        if len(digits) == 3:  # alpha211: layer 2, [1,1]
            out.append(f"{name}{digits[0]}{plus}[{digits[1]},{digits[2]}]")
        return out
    return []


def candidates(name: str) -> list[str]:
    """Every qid the learner's ``name`` may mean, most likely first."""
    low = name.strip().lower()
    if low in SIZE_NAMES:
        return [SIZE_NAMES[low]]
    if low in ("output", "output size", "size"):
        return ["output"]
    t = _ascii(name)
    if t in LOSS_NAMES or t == "loss":
        return ["loss"]
    if "/" in t:
        num, _, den = t.partition("/")
        if not (num.startswith("d") and den.startswith("d")):
            return []
        num, den = num[1:], den[1:]
        dens = _symbols(den)
        if num in LOSS_NAMES:
            return [f"dl/d{q}" for q in dens]
        return [f"d{a}/d{b}" for a in _symbols(num) for b in dens]
    return _symbols(t)


def _index(qid: str) -> tuple[int, ...]:
    m = re.search(r"\[([\d,]+)\]$", qid)
    return tuple(int(v) for v in m.group(1).split(",")) if m else ()


def elements(vector: str, known: list[str]) -> list[str]:
    """The element qids of a vector/matrix name ('dl/dbeta' -> dl/dbeta[0] …), in index order."""
    if vector == "output":
        return [q for q in SIZE if q in known]
    els = [q for q in known if q.startswith(vector + "[") and re.fullmatch(r"\[[\d,]+\]", q[len(vector) :])]
    return sorted(dict.fromkeys(els), key=_index)


def resolve(name: str, known: list[str]) -> tuple[str, list[str]] | None:
    """(qid, its element qids) for the learner's ``name``: a single quantity gives ([qid]); None if
    the network has no such quantity."""
    for q in candidates(name):
        if q in known:
            return q, [q]
        els = elements(q, known)
        if els:
            return q, els
    return None


def suggestion(name: str, known: list[str]) -> str | None:
    """The closest quantity name (difflib), for a 'did you mean' hint."""
    pool = list(dict.fromkeys(known))
    vectors = {re.sub(r"\[[\d,]+\]$", "", q) for q in pool}
    pool += sorted(vectors - set(pool))
    tries = [c for c in candidates(name)] + [_ascii(name)]
    best: list[str] = []
    for t in tries:
        best = difflib.get_close_matches(t, pool, n=1, cutoff=0.6)
        if best:
            break
    return best[0] if best else None
