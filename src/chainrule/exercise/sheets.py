"""An exercise's files: the spec (TOML), the question sheet and the answer key (Markdown, LaTeX), an
answers template for ``chainrule check`` and the key's own values as an answers file.

The key is ``chainrule explain``'s output for the spec (a test compares the bytes); for a convolution
the conv worksheet, for an output size the worked size calculation.
"""

import math

import numpy as np

from chainrule.check.network import problem_from_data
from chainrule.check.problem import FMT, Problem
from chainrule.explain.derive import Deriver
from chainrule.explain.doc import Document, Equations, Heading, Mat, Prose, Sym
from chainrule.explain.render import render_document


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(e) for e in v) + "]"
    if isinstance(v, float) and v == int(v) and math.isfinite(v):
        return str(int(v))
    return repr(v)


def spec_toml(data: dict, title: str) -> str:
    """The exercise as a spec file (explain and check read it)."""
    lines = [f"# {title}", "#   chainrule explain THIS-FILE      (the worked solution)"]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    top = [f"{k} = {toml_value(v)}" for k, v in data.items() if k not in tables and k != "layers"]
    lines += [""] + top if top else []
    for layer in data.get("layers", []):
        lines += ["", "[[layers]]"] + [f"{k} = {toml_value(v)}" for k, v in layer.items()]
    for name, t in tables.items():
        lines += ["", f"[{name}]"] + [f"{k} = {toml_value(v)}" for k, v in t.items()]
    return "\n".join(lines) + "\n"


def problem(data: dict) -> Problem:
    return problem_from_data(dict(data), "<exercise>")


def key(p: Problem, fmt: str, standalone: bool = False) -> str:
    """The worked solution, exactly as ``chainrule explain SPEC --format fmt`` prints it (its default digits)."""
    from chainrule.explain.explanation import number_format

    return render_document(p.document, fmt, number_format(), standalone=standalone)


def _names(p: Problem) -> list[str]:
    """The quantities a learner is asked for (every one the key defines)."""
    return p.known()


def question_document(data: dict, p: Problem, title: str) -> Document:
    doc = Document(title=title)
    if "conv" in data:
        t = data["conv"]
        doc.add(
            Prose(
                f"Let X be convolved with F (cross-correlation, as in every deep-learning framework: the kernel "
                f"is not flipped) using padding {t['padding']} and stride {t['stride']}, to produce an output Y."
            )
        )
        doc.add(Equations([(Sym("X", "X"), Mat(np.array(t["input"]))), (Sym("F", "F"), Mat(np.array(t["kernel"])))]))
        doc.add(Heading("Questions"))
        doc.add(Prose("1. What is the output size (height × width)?"))
        doc.add(Prose("2. What is the value of every cell of Y?"))
    elif "shape" in data:
        t = data["shape"]
        h, w = t["size"]
        doc.add(
            Prose(
                f"An input feature map of size (height × width) {h} × {w} is convolved with a {t['kernel']} × "
                f"{t['kernel']} filter, using a padding of {t['padding']} and a stride of {t['stride']}."
            )
        )
        doc.add(Heading("Questions"))
        doc.add(Prose("What is the resulting output size? Write it as height × width, step by step."))
    else:
        deriver = Deriver(p.explanation.trace)  # type: ignore[attr-defined]
        doc.add(*deriver.summary())
        doc.add(Heading("Questions"))
        doc.add(Prose("1. Forward: compute every pre-activation and activation, the output and the loss."))
        doc.add(
            Prose(
                "2. Backward: compute the loss's derivative with respect to the output, to every weight of "
                "the output layer and, by the chain rule, to every weight of the hidden layer(s)."
            )
        )
    doc.add(Prose("Write your answers into the answers file (one name = value per line), then run chainrule check."))
    return doc


def questions(data: dict, p: Problem, title: str, fmt: str, standalone: bool = False) -> str:
    return render_document(question_document(data, p, title), fmt, FMT, standalone=standalone)


def answers_template(p: Problem, spec_name: str) -> str:
    lines = [
        f"# Answers for {spec_name}: fill in each value, uncomment the line, then run chainrule check THIS-FILE",
        f'network = "{spec_name}"',
    ]
    lines += [f"# {q} = " for q in _names(p)]
    return "\n".join(lines) + "\n"


def key_answers(p: Problem, spec_name: str) -> str:
    """The key's own numbers, as printed, as an answers file (``chainrule check`` grades it all right)."""
    lines = [f"# The answer key's values for {spec_name}, as the key prints them", f'network = "{spec_name}"']
    lines += [f"{q} = {FMT.text(v)}" for q, v in p.expected.items()]
    return "\n".join(lines) + "\n"
