"""The grading report as text, Markdown or JSON (``name``, ``given``, ``expected``, ``status``,
``diagnosis`` per value)."""

import json

from chainrule.check.grade import FOLLOW, RIGHT, Result, all_right
from chainrule.check.judge import REL_CARRIED, REL_ROUNDING_CREDIT, SIG_DIGITS
from chainrule.check.problem import FMT, Problem

DIAGNOSES = {
    "missing-bias": "the bias term left out (x₀ = 1 or z₀ = 1 forgotten)",
    "swapped-indices": "α's indices swapped (αᵢ,ⱼ used for αⱼ,ᵢ)",
    "activation-derivative": "the activation's derivative is wrong (tanh(a) for 1 − tanh²(a), σ for σ(1 − σ))",
    "wrong-activation": "another activation function was applied",
    "sign": "the sign of ŷ − y is flipped",
    "missing-half": "the ½ of the squared error is dropped",
    "softmax-gradient": "softmax + cross-entropy gradient without the − y",
    "wrong-layer": "a value taken from the wrong layer",
    "early-rounding": "rounded too early: the rounding error grew through the later steps",
    "kernel-flip": "the kernel flipped (a true convolution; frameworks do not flip) or not flipped when asked",
    "padding": "the padding applied wrongly",
    "stride": "the stride applied wrongly",
    "output-size": "the output-size formula: the floor or the + 1 forgotten",
    "unknown": "no common mistake gives this value",
}
TOLERANCE = (
    f"each value is judged at the precision written: right when within half a unit of its last digit "
    f"(never coarser than {SIG_DIGITS} significant digits), plus {REL_CARRIED * 100:g} % for rounding carried "
    f"through; a value recomputed from your own rounded earlier values counts as right within "
    f"{REL_ROUNDING_CREDIT * 100:g} %"
)
MARK = {RIGHT: "✓", FOLLOW: "→"}


def _expected(r: Result) -> str:
    return FMT.text(r.expected)


def _summary(results: list[Result]) -> str:
    right = sum(r.status == RIGHT for r in results)
    follow = sum(r.status == FOLLOW for r in results)
    wrong = len(results) - right - follow
    parts = [f"{right} right", f"{wrong} wrong"] + ([f"{follow} follow-through"] if follow else [])
    return f"{len(results)} value(s): " + ", ".join(parts) + "."


def _first_wrong(results: list[Result]) -> Result | None:
    return next((r for r in results if r.status != RIGHT and r.status != FOLLOW), None)


def render_text(problem: Problem, results: list[Result], title: str) -> str:
    lines = [title, ""]
    first = _first_wrong(results)
    for r in results:
        sym = problem.symbol(r.qid)
        mark = MARK.get(r.status, "✗")
        if r.status == RIGHT:
            lines.append(f"{mark} {sym} = {r.given.text}" + (f"   ({r.note})" if r.note else ""))
        elif r.status == FOLLOW:
            lines.append(f"{mark} {sym} = {r.given.text}   follow-through: {r.note}")
        else:
            why = f"{r.diagnosis}: {DIAGNOSES[r.diagnosis or 'unknown']}" + (f"; {r.note}" if r.note else "")
            lines.append(f"{mark} {sym} = {r.given.text}   expected {_expected(r)}   ({why})")
            if r is first:
                lines.append(f"      yours:   {sym} = {r.given.text}")
                lines.append(f"      correct: {problem.line(r.qid)}")
    lines += ["", _summary(results), f"Tolerance: {TOLERANCE}."]
    return "\n".join(lines) + "\n"


def render_markdown(problem: Problem, results: list[Result], title: str) -> str:
    lines = [f"# {title}", "", "| | quantity | yours | expected | |", "|---|---|---|---|---|"]
    first = _first_wrong(results)
    for r in results:
        note = r.note if r.status != "wrong" else f"**{r.diagnosis}**: {DIAGNOSES[r.diagnosis or 'unknown']}"
        if r.status == "wrong" and r.note:
            note += f"; {r.note}"
        lines.append(
            f"| {MARK.get(r.status, '✗')} | `{r.qid}` {problem.symbol(r.qid)} | {r.given.text} | "
            f"{_expected(r)} | {note} |"
        )
    if first is not None:
        lines += [
            "",
            f"First wrong value: {problem.symbol(first.qid)} = {first.given.text}. The correct line:",
            "",
        ]
        lines.append(problem.line(first.qid, "markdown"))
    lines += ["", _summary(results), "", f"Tolerance: {TOLERANCE}."]
    return "\n".join(lines) + "\n"


def to_dict(results: list[Result], network: str) -> dict:
    values = []
    for r in results:
        v = {
            "name": r.name,
            "qid": r.qid,
            "given": r.given.value,
            "written": r.given.text,
            "expected": r.expected,
            "status": r.status,
            "line": r.line,
        }
        if r.status == "wrong":
            v["diagnosis"] = r.diagnosis
        if r.note:
            v["note"] = r.note
        values.append(v)
    return {"network": network, "all_right": all_right(results), "values": values, "tolerance": TOLERANCE}


def render(problem: Problem, results: list[Result], fmt: str, title: str, network: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(results, network), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(problem, results, title)
    return render_text(problem, results, title)
