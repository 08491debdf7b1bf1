"""Grading: every answer ✓/✗ in derivation order, a diagnosis for a wrong value, credit carried forward.

For each value, in the order the derivation defines them:
1. right when it matches the exact value at the precision written (``judge.matches``);
2. else, recomputed from the learner's own earlier values (follow-through): when it matches that,
   - and one of those earlier values was wrong, it is ``follow-through`` ("consistent with your a₁ = 6");
   - and they were all right, only rounded: right when within 1 % of the exact value (rounding carried
     through), else wrong with the diagnosis ``early-rounding``;
3. else wrong, with the first mistake whose value matches (``Problem.mistakes``), or ``unknown``.
"""

from dataclasses import dataclass

from chainrule.check.answers import Answers, Entry
from chainrule.check.judge import REL_ROUNDING_CREDIT, Written, matches
from chainrule.check.names import resolve, suggestion
from chainrule.check.problem import Problem

RIGHT, WRONG, FOLLOW = "right", "wrong", "follow-through"


@dataclass
class Result:
    name: str  # as the learner wrote it (an element of a vector: its qid)
    qid: str
    given: Written
    expected: float
    line: int
    status: str = RIGHT
    diagnosis: str | None = None
    note: str = ""


def _flat(v) -> list:
    return [w for e in v for w in _flat(e)] if isinstance(v, list) else [v]


def _items(problem: Problem, answers: Answers) -> list[Result]:
    known = problem.known()
    out = []
    for e in answers.entries:
        found = resolve(e.name, known)
        if found is None:
            hint = suggestion(e.name, known)
            raise answers.error(
                e.line,
                f"{e.name!r} is not a quantity of this network"
                + (f"; did you mean {hint!r}?" if hint else " (see docs/check.md for the names)"),
            )
        qid, els = found
        out += _expand(answers, e, qid, els, problem)
    return out


def _expand(answers: Answers, e: Entry, qid: str, els: list[str], problem: Problem) -> list[Result]:
    values = _flat(e.values) if isinstance(e.values, list) else [e.values]
    single = len(els) == 1 and els[0] == qid
    if single and len(values) != 1:
        raise answers.error(e.line, f"{e.name} is one number, but {e.text!r} gives {len(values)}")
    if not single and len(values) != len(els) and _is_matrix(e.values):
        return _by_position(answers, e, qid, els, problem)  # e.g. a 2×2 Y from a slip in the padding
    if not single and len(values) != len(els):
        raise answers.error(
            e.line, f"{e.name} has {len(els)} entries ({els[0]} … {els[-1]}), but {e.text!r} gives {len(values)}"
        )
    names = [e.name] if single else els
    return [Result(n, q, w, problem.expected[q], e.line) for n, q, w in zip(names, els, values, strict=True)]


def _is_matrix(v) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(r, list) and not any(isinstance(c, list) for c in r) for r in v)
    )


def _by_position(answers: Answers, e: Entry, qid: str, els: list[str], problem: Problem) -> list[Result]:
    """A matrix of another shape than the network's: each entry graded at its (row, column) position
    (the first index as the qids count it: rows from 1, columns from 0 or 1)."""
    first = min(int(q[q.rindex(",") + 1 : -1]) for q in els)
    out = []
    for i, row in enumerate(e.values, start=1):
        for j, w in enumerate(row, start=first):
            q = f"{qid}[{i},{j}]"
            if q not in els:
                raise answers.error(e.line, f"{e.name} has no entry {q} (it has {els[0]} … {els[-1]})")
            out.append(Result(q, q, w, problem.expected[q], e.line))
    return out


def grade(problem: Problem, answers: Answers) -> list[Result]:
    results = _items(problem, answers)
    order = {q: i for i, q in enumerate(problem.known())}
    results.sort(key=lambda r: order[r.qid])
    seen: dict[str, Result] = {}
    for r in results:
        if r.qid in seen:
            raise answers.error(r.line, f"{r.qid} is given twice (also on line {seen[r.qid].line})")
        if not matches(r.given, r.expected):
            _judge_wrong(problem, r, seen)
        seen[r.qid] = r
    return results


def _judge_wrong(problem: Problem, r: Result, earlier: dict[str, Result]) -> None:
    r.status = WRONG
    given = {q: e.given.value for q, e in earlier.items()}
    v = problem.recompute(r.qid, given) if given else None
    if v is not None and matches(r.given, v):
        ups = [e for q, e in earlier.items() if e.status != RIGHT and problem.depends(r.qid, q, e.given.value)]
        if ups:
            r.status = FOLLOW
            roots = [e for e in ups if e.status == WRONG] or ups  # name the first mistakes, not what followed
            r.note = "consistent with your " + ", ".join(f"{problem.symbol(e.qid)} = {e.given.text}" for e in roots)
            return
        rounded = [
            e for q, e in earlier.items() if e.given.value != e.expected and problem.depends(r.qid, q, e.given.value)
        ]
        names = ", ".join(f"{problem.symbol(e.qid)} = {e.given.text}" for e in rounded)
        if abs(r.given.value - r.expected) <= REL_ROUNDING_CREDIT * abs(r.expected):
            r.status, r.note = RIGHT, f"rounding carried through from your {names}"
        else:
            r.diagnosis, r.note = "early-rounding", f"your {names} was rounded too early"
        return
    for name, value in problem.mistakes(r.qid, given):
        if matches(r.given, value) and not matches(Written(repr(value)), r.expected):
            r.diagnosis = name
            return
    r.diagnosis = "unknown"


def all_right(results: list[Result]) -> bool:
    return all(r.status == RIGHT for r in results)
