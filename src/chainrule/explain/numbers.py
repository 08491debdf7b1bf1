"""How every number in an explanation is written: the one place that decides digits.

``NumberFormat(decimals=N)``:
- 0 is ``0``; a whole number (|v| < 1e15) is written without a point: ``5``, ``-2``;
- otherwise N digits after the point (``4.91807``, ``1.83950``), but never fewer than min(3, N)
  significant digits: a small value gets the extra decimals it needs (``0.000348`` at N = 5, as the
  recitation writes it);
- a value that *is* a shorter decimal (an input, a weight) is written as such: ``0.5``, not ``0.50000``;
- a nonzero value below 10⁻ᴺ is written in scientific notation with N significant digits
  (``8.9907e-07``; ``8.9907 \\times 10^{-7}`` in LaTeX), so no nonzero value ever prints as 0;
  so is a value of 10¹⁵ or more (``3.1416e+20``, not twenty-one digits); an exact short mantissa
  loses its trailing zeros (a weight 1e-9 is ``1e-09``).

``round(v)`` is the value of what is printed, ``float(text(v))``: the hand-calculation mode
(``--round-each-step``) rounds the engine's intermediates with it, so a printed line recomputed from
its printed operands gives exactly its printed result.
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NumberFormat:
    decimals: int = 5

    def __post_init__(self):
        if not 0 <= int(self.decimals) <= 15:
            from chainrule.errors import ChainruleError

            raise ChainruleError(f"decimals must be between 0 and 15, got {self.decimals}")

    def parts(self, v: float) -> tuple[str, int | None]:
        """(mantissa, exponent) of ``v`` as printed; exponent None for positional notation."""
        v = float(v)
        if not math.isfinite(v):
            return ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")), None
        if v == 0:
            return "0", None
        if v == int(v) and abs(v) < 1e15:
            return str(int(v)), None
        n = int(self.decimals)
        if abs(v) < 10.0**-n or abs(v) >= 1e15:
            m, e = f"{v:.{max(n - 1, 0)}e}".split("e")
            if "." in m and float(f"{m}e{e}") == v:  # exactly this (a weight 1e-9): no trailing zeros
                m = m.rstrip("0").rstrip(".")
            return m, int(e)
        sig = min(3, n) if n > 0 else 1
        d = max(n, sig - 1 - math.floor(math.log10(abs(v))))
        s = f"{v:.{d}f}"
        if float(s) == v and "." in s:  # exactly this decimal (an input, a weight): no trailing zeros
            s = s.rstrip("0").rstrip(".")
        if float(s) == 0:  # only possible when N = 0 and |v| < 0.5
            m, e = f"{v:.0e}".split("e")
            return m, int(e)
        return s, None

    def text(self, v: float) -> str:
        m, e = self.parts(v)
        return m if e is None else f"{m}e{e:+03d}"

    def latex(self, v: float) -> str:
        m, e = self.parts(v)
        if m in ("inf", "-inf", "nan"):
            return {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\mathrm{NaN}"}[m]
        return m if e is None else f"{m} \\times 10^{{{e}}}"

    def round(self, v: float) -> float:
        """The value of what is printed for ``v``."""
        return float(self.text(v))

    def round_array(self, a: np.ndarray) -> np.ndarray:
        """Elementwise ``round`` (a new array of the same shape and dtype)."""
        a = np.asarray(a)
        out = np.array([self.round(v) for v in a.reshape(-1)], dtype=a.dtype if a.dtype.kind == "f" else float)
        return out.reshape(a.shape)
