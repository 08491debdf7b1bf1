"""Parsers for the size-like flags every command shares: "9x6", "9×6", "9,6", "5", "same"."""

from chainrule.errors import ChainruleError


def dims(text: str, what: str, lengths: tuple[int, ...] = (1, 2), minimum: int | None = None) -> tuple[int, ...]:
    """'9x6', '9×6', '9,6', '9*6' or '5' -> whole numbers (≥ ``minimum`` if given), as many as one of
    ``lengths``. Kernel, stride, padding and dilation leave their range checks to core.windows."""
    parts = text.lower().replace("×", "x").replace(",", "x").replace("*", "x").split("x")
    try:
        values = tuple(int(p.strip()) for p in parts)
    except ValueError:
        raise ChainruleError(
            f"{what} {text!r} is not understood; expected whole numbers like {'9x6' if 2 in lengths else '3'}"
        ) from None
    if len(values) not in lengths:
        raise ChainruleError(
            f"{what} {text!r} has {len(values)} number(s); expected {' or '.join(str(n) for n in lengths)}"
        )
    if minimum is not None and min(values) < minimum:
        raise ChainruleError(f"{what} {text!r} must be at least {minimum} in every axis")
    return values


def pair(text: str, what: str) -> tuple[int, int]:
    """A per-axis (h, w) from "3" (3, 3) or "3x2" (3, 2)."""
    values = dims(text, what)
    return values[0], values[-1]


def padding_pair(text: str, what: str) -> "tuple[int, int] | str":
    """``pair``, or one of the padding words 'same' and 'valid'."""
    if text.lower() in ("same", "valid"):
        return text.lower()
    return pair(text, what)
