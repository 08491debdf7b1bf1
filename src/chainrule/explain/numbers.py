"""How every number in an explanation is written: the one place that decides digits.

Two modes, one style:
- ``NumberFormat(digits=N)``: N significant digits (``0.99990920`` is written ``0.9999092``,
  ``4.9180739``, ``0.00034829005``, ``8.9907346e-07``); the explainer's default is 8, which writes every
  number of the recitation's section 3 to at least the digits the recitation prints;
- ``NumberFormat(decimals=N)``: N digits after the point (``4.91807``), but never fewer than N
  significant digits (``0.00018158``, so that a factor 1 − tanh²(5) used by hand still gives the
  recitation's 0.000348); a nonzero value below 10⁻ᴺ in scientific notation with N significant digits,
  so no nonzero value ever prints as 0.
In both: 0 is ``0``; a whole number (|v| < 1e15) has no point (``5``, ``-2``); trailing zeros are dropped,
so a computed 1.214 and an input -0.56 read alike (``1.214``, ``-0.56``); a value of 10¹⁵ or more is in
scientific notation. ``unicode=True`` writes the minus sign as the operators do (``−0.10792``,
``8.99e−7``), the explainer's text; LaTeX and ``round`` are unaffected.

``round(v)`` is the value of what is printed: the hand-calculation mode (``--round-each-step``) rounds
the engine's intermediates with it, so a printed line recomputed from its printed operands gives exactly
its printed result.
"""

import math
from dataclasses import dataclass

import numpy as np

MINUS = "\u2212"


@dataclass(frozen=True)
class NumberFormat:
    decimals: int = 5  # None reads as 5
    digits: int | None = None  # significant digits; set, it replaces ``decimals``
    unicode: bool = False  # the explainer's style: U+2212 minus, no trailing zeros, ≥ N significant digits

    def __post_init__(self) -> None:
        from chainrule.errors import ChainruleError

        if self.decimals is None:  # a caller passing an unset --decimals: the default
            object.__setattr__(self, "decimals", 5)
        if self.digits is not None:
            if isinstance(self.digits, bool) or not 1 <= int(self.digits) <= 17:
                raise ChainruleError(f"digits must be between 1 and 17, got {self.digits}")
        elif not 0 <= int(self.decimals) <= 15:
            raise ChainruleError(f"decimals must be between 0 and 15, got {self.decimals}")

    def parts(self, v: float) -> tuple[str, int | None]:
        """(mantissa, exponent) of ``v`` as printed, ASCII; exponent None for positional notation."""
        v = float(v)
        if not math.isfinite(v):
            return ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")), None
        if v == 0:
            return "0", None
        if v == int(v) and abs(v) < 1e15:
            return str(int(v)), None
        if self.digits is not None:
            return self._significant(v, int(self.digits))
        n = int(self.decimals)
        if abs(v) < 10.0**-n or abs(v) >= 1e15:
            return _sci(v, max(n, 1), always=self.unicode)
        sig = max(n, 1) if self.unicode else (min(3, n) if n > 0 else 1)  # below 1: significant digits kept
        d = max(n, sig - 1 - math.floor(math.log10(abs(v))))
        s = f"{v:.{d}f}"
        if "." in s and (self.unicode or float(s) == v):  # an exact short decimal (an input) loses its zeros
            s = _strip(s, v)
        if float(s) == 0:  # only possible when N = 0 and |v| < 0.5
            m, e = f"{v:.0e}".split("e")
            return m, int(e)
        return s, None

    @staticmethod
    def _significant(v: float, n: int) -> tuple[str, int | None]:
        e = math.floor(math.log10(abs(float(f"{v:.{n - 1}e}"))))  # the exponent after rounding
        if e < -4 or e >= max(n, 15):
            return _sci(v, n)
        return _strip(f"{v:.{max(n - 1 - e, 0)}f}", v), None

    def plain(self, v: float) -> str:
        """The printed text in ASCII (what ``float`` reads back)."""
        m, e = self.parts(v)
        return m if e is None else f"{m}e{e:+03d}"

    def text(self, v: float) -> str:
        if not self.unicode:
            return self.plain(v)
        m, e = self.parts(v)
        return (m if e is None else f"{m}e{e}").replace("-", MINUS)

    def latex(self, v: float) -> str:
        m, e = self.parts(v)
        if m in ("inf", "-inf", "nan"):
            return {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\mathrm{NaN}"}[m]
        return m if e is None else f"{m} \\times 10^{{{e}}}"

    def round(self, v: float) -> float:
        """The value of what is printed for ``v``."""
        return float(self.plain(v))

    def round_array(self, a: np.ndarray) -> np.ndarray:
        """Elementwise ``round`` (a new array of the same shape and dtype)."""
        a = np.asarray(a)
        out = np.array([self.round(v) for v in a.reshape(-1)], dtype=a.dtype if a.dtype.kind == "f" else float)
        return out.reshape(a.shape)


def _strip(s: str, v: float | None = None) -> str:
    """Trailing zeros of a decimal dropped: one style for computed values and short inputs alike; but
    a value rounded to a whole number keeps them (tanh(5) to 3 digits is 1.00, never an exact-looking 1)."""
    if "." not in s:
        return s
    t = s.rstrip("0").rstrip(".")
    return s if v is not None and "." not in t and float(t) != v else t


def _sci(v: float, n: int, always: bool = True) -> tuple[str, int]:
    """n significant digits in scientific notation; trailing zeros dropped (``always``, or when exact)."""
    m, e = f"{v:.{n - 1}e}".split("e")
    if always or float(f"{m}e{e}") == v:
        m = _strip(m)
    return m, int(e)
