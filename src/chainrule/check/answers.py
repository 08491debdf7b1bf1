"""Reading an ANSWERS file: the network it is about, and the learner's values as written.

    # my answers to recitation 3.1
    network = "recitation-3.1"          # a spec file (path relative to this file), an exercise file,
                                        # or a built-in: recitation-3.1 (default), -3.2, -3.3, -4.2a, -4.2b
    a1 = 5
    z2 = 0.99505
    dl/dalpha[1,1] = 0.000348
    dl/dbeta = [1.91807, 1.9179, 1.90859, 1.84908]
    output = 5x4

One ``name = value`` per line (TOML's quoted keys work too: ``"dl/dalpha[1,1]" = 0.000348``); a value
is a number, a (nested) list of numbers, or a size ``5x4``; ``#`` starts a comment; a ``[section]``
line is ignored. ``x = [...]`` and ``y = ...`` replace the network's input and target. Every number
keeps the text it was written with: its precision is part of the answer.
"""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from chainrule.check.judge import NUMBER, Written
from chainrule.errors import ChainruleError
from chainrule.files import read_bytes

SETTINGS = ("network", "x", "y")
_SIZE = re.compile(r"^\s*(\d+)\s*[x×*]\s*(\d+)\s*$")
_LIST_TOKEN = re.compile(r"\s*(\[|\]|,|" + NUMBER.pattern + r")")


@dataclass
class Entry:
    """One answer line: the name as written, its value(s) and where it is (1-based line)."""

    name: str
    values: list  # a Written, or a (nested) list of them
    line: int
    text: str  # the value's text as written
    size: bool = False  # written as H x W


@dataclass
class Answers:
    path: str
    network: str | None = None
    network_line: int = 0
    x: object = None
    y: object = None
    entries: list[Entry] = field(default_factory=list)

    def error(self, line: int, problem: str) -> ChainruleError:
        return ChainruleError(f"{self.path}: line {line}: {problem}")

    def resolve(self, name: str) -> str:
        """A file named in the answers, relative to the answers file's folder."""
        p = Path(name)
        return str(p if p.is_absolute() else Path(self.path).parent / p)


def _strip_comment(line: str) -> str:
    out, quote = [], None
    for ch in line:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
    return "".join(out).strip()


def parse_list(text: str, where: str):
    """'[1, [2.50, 3]]' -> nested lists of Written, or a ChainruleError naming ``where``."""
    pos, top = 0, None
    stack: list[list] = []
    while pos < len(text):
        m = _LIST_TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise ChainruleError(f"{where}: {text[pos:].strip()[:20]!r} is not a number")
        tok, pos = m.group(1), m.end()
        if tok == "[":
            stack.append([])
        elif tok == "]":
            if not stack:
                raise ChainruleError(f"{where}: a ']' without its '['")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            else:
                top = done
                break
        elif tok == ",":
            continue
        else:
            if not stack:
                raise ChainruleError(f"{where}: expected '[' before {tok!r}")
            stack[-1].append(_finite(Written(tok), where))
    if stack or top is None:
        raise ChainruleError(f"{where}: the list is not closed (a ']' is missing)")
    if text[pos:].strip():
        raise ChainruleError(f"{where}: {text[pos:].strip()[:20]!r} after the list")
    return top


def _finite(w: Written, where: str) -> Written:
    """``w``, or a ChainruleError when it is too large for a float (1e999 reads as infinity)."""
    if not math.isfinite(w.value):
        raise ChainruleError(f"{where}: {w.text!r} is too large a number")
    return w


def _value(text: str, where: str):
    if _SIZE.match(text):
        h, w = _SIZE.match(text).groups()  # type: ignore[union-attr]
        return [_finite(Written(h), where), _finite(Written(w), where)], True
    if text.startswith("["):
        return parse_list(text, where), False
    t = text.replace("−", "-")
    if NUMBER.fullmatch(t):
        return _finite(Written(t), where), False
    raise ChainruleError(f"{where}: {text!r} is not a number, a list of numbers or a size such as 5x4")


def parse_answers(text: str, path: str = "<answers>") -> Answers:
    ans = Answers(path)
    lines = text.splitlines()
    n = 0
    seen: dict[str, int] = {}
    while n < len(lines):
        n += 1
        line = _strip_comment(lines[n - 1])
        if not line or re.fullmatch(r"\[+[^\]=]*\]+", line):
            continue
        if "=" not in line:
            raise ans.error(n, f"{line[:30]!r} is not of the form name = value")
        name, _, value = line.partition("=")
        name, value, start = name.strip().strip("\"'").strip(), value.strip(), n
        while value.startswith("[") and value.count("[") > value.count("]") and n < len(lines):
            n += 1  # a list spread over several lines
            value += " " + _strip_comment(lines[n - 1])
        if not name:
            raise ans.error(start, "a value without a name before '='")
        if not value:
            raise ans.error(start, f"{name!r} has no value after '='")
        where = f"{path}: line {start}: {name}"
        if name in SETTINGS:
            if name == "network":
                if not (value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1):
                    raise ans.error(start, f'network = {value}: give the network in quotes, e.g. network = "net.toml"')
                ans.network, ans.network_line = value[1:-1], start
            else:
                v, _ = _value(value, where)
                setattr(ans, name, _plain(v))
            continue
        if name in seen:
            raise ans.error(start, f"{name!r} is given twice (first on line {seen[name]})")
        seen[name] = start
        v, size = _value(value, where)
        ans.entries.append(Entry(name, v, start, value, size))
    return ans


def _plain(v):
    return [_plain(e) for e in v] if isinstance(v, list) else v.value


def read_answers(path: str) -> Answers:
    raw = read_bytes(path, "an answers file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ChainruleError(f"{path}: not a text file (it is not UTF-8)") from None
    return parse_answers(text, path)
