"""Judging one written number against a value, at the precision the learner wrote it.

A written value is right when it is the value rounded to the digits written, give or take a relative
0.005 % for rounding carried through from earlier rounded values:

    |given − value| ≤ u/2 + 5·10⁻⁵ |value|

with u the unit of the last digit written (3.14: u = 0.01; 8.99e-7: u = 10⁻⁹), but never coarser
than three significant digits of the value (the recitation's 0.000348), so a bare "5" is not right
for 5.3. 3.14 is right for π (|π − 3.14| = 0.0016 ≤ 0.005 + 0.00016); 3.15 is not (0.0084).

A larger rounding error carried through is credited by ``grade``: a value recomputed from the
learner's own written (rounded) values is right within 1 % (``REL_ROUNDING_CREDIT``).
"""

import math
import re
from dataclasses import dataclass

REL_CARRIED = 5e-5  # rounding carried through from 5-digit intermediates, relative
SIG_DIGITS = 3  # the coarsest precision judged: three significant digits
REL_ROUNDING_CREDIT = 1e-2  # a value recomputed from the learner's own rounded values: right within 1 %

NUMBER = re.compile(r"[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Written:
    """One number as the learner wrote it: its text and its value."""

    text: str

    @property
    def value(self) -> float:
        return float(self.text.replace("−", "-"))

    @property
    def unit(self) -> float:
        """The unit of the last digit written: '3.14' -> 0.01, '5' -> 1, '8.99e-7' -> 1e-9."""
        t = self.text.replace("−", "-").lstrip("+-")
        mant, _, exp = t.lower().partition("e")
        decimals = len(mant.split(".")[1]) if "." in mant else 0
        return 10.0 ** (int(exp or 0) - decimals)


def tolerance(w: Written, value: float) -> float:
    """How far ``w`` may be from ``value`` and still be right (see the module docstring)."""
    u = w.unit
    if value != 0 and math.isfinite(value):
        u = min(u, 10.0 ** (math.floor(math.log10(abs(value))) - (SIG_DIGITS - 1)))
    return u / 2 * (1 + 1e-9) + REL_CARRIED * abs(value)


def matches(w: Written, value: float | None) -> bool:
    if value is None or not math.isfinite(value):
        return False
    return abs(w.value - value) <= tolerance(w, value)
