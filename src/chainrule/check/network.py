"""Which problem an ANSWERS file is about: its ``network`` (a spec file, an exercise file, or one of
the recitation's built-in problems), with ``x`` / ``y`` replaced when the answers give them.

Built-ins: ``recitation-3.1`` (the default: section 3's network, x = [1, 2], y = 3), ``recitation-3.2``
(x = [0, 1]), ``recitation-3.3`` (x = [2, 3]), ``recitation-4.2a`` (the convolution of 4.2 a) and
``recitation-4.2b`` (the output size of 4.2 b: 9×6, K = 5, P = 4, S = 3).
An exercise file (``chainrule exercise``) is a spec file; a convolution exercise has a ``[conv]``
table (input, kernel, stride, padding, bias, flip), an output-size exercise a ``[shape]`` table
(size, kernel, stride, padding).
"""

import tomllib
from importlib.resources import files

from chainrule.check.answers import Answers
from chainrule.check.problem import Problem
from chainrule.errors import ChainruleError

X_42A = [[2, 3, -1, 2], [4, 1, 0, 1], [-2, 1, 3, 2], [-1, -2, 0, 5]]
F_42A = [[1, 0, 1], [-1, 0, -1], [1, 0, 1]]
BUILTIN_X = {"recitation-3.1": [1, 2], "recitation-3.2": [0, 1], "recitation-3.3": [2, 3]}
BUILTIN = {
    **{k: None for k in BUILTIN_X},
    "recitation-4.2a": {"conv": {"input": X_42A, "kernel": F_42A}},
    "recitation-4.2b": {"shape": {"size": [9, 6], "kernel": 5, "padding": 4, "stride": 3}},
}


def recitation_data(x=(1, 2)) -> dict:
    data = tomllib.loads(files("chainrule").joinpath("examples", "recitation-3.1.toml").read_text(encoding="utf-8"))
    data["x"] = list(x)
    return data


def problem_data(answers: Answers) -> tuple[dict, str]:
    """(the network's TOML data, its name for messages)."""
    name = answers.network or "recitation-3.1"
    if name in BUILTIN:
        data = BUILTIN[name] or recitation_data(BUILTIN_X[name])
        return dict(data), name
    from chainrule.spec import read_spec_data

    path = answers.resolve(name)
    try:
        return read_spec_data(path), name
    except FileNotFoundError:
        raise answers.error(answers.network_line, f"network {name!r}: no such file ({path})") from None
    except ChainruleError as e:
        if "no such file" in str(e):
            raise answers.error(answers.network_line, f"network {name!r}: no such file ({path})") from None
        raise


def _table(data: dict, key: str, source: str) -> dict:
    t = data[key]
    if not isinstance(t, dict):
        raise ChainruleError(f"{source}: key {key!r}: expected a table [{key}]")
    return t


def _need(t: dict, key: str, table: str, source: str):
    if key not in t:
        raise ChainruleError(f"{source}: [{table}] key {key!r}: missing")
    return t[key]


def problem_from_data(data: dict, source: str) -> Problem:
    """The problem a spec / exercise file poses (``x`` and ``y`` already replaced)."""
    from chainrule.check.conv import ConvProblem, ShapeProblem

    if "conv" in data:
        t = _table(data, "conv", source)
        return ConvProblem(
            _need(t, "input", "conv", source),
            _need(t, "kernel", "conv", source),
            stride=t.get("stride", 1),
            padding=t.get("padding", 0),
            bias=t.get("bias"),
            flip=bool(t.get("flip", False)),
        )
    if "shape" in data:
        t = _table(data, "shape", source)
        return ShapeProblem(
            _need(t, "size", "shape", source),
            _need(t, "kernel", "shape", source),
            stride=t.get("stride", 1),
            padding=t.get("padding", 0),
        )
    from chainrule.check.dense import DenseProblem
    from chainrule.spec import parse_spec

    spec = parse_spec(data, source=source)
    if spec.x is None or spec.y is None:
        raise ChainruleError(
            f"{source}: key {'x' if spec.x is None else 'y'!r}: missing: checking needs an input and a target"
        )
    net, loss = spec.build(rng=0)
    try:
        return DenseProblem(net, spec.x, spec.y, loss)
    except ChainruleError as e:
        raise ChainruleError(f"{source}: {e}") from None


def load_problem(answers: Answers) -> tuple[Problem, str]:
    data, name = problem_data(answers)
    if answers.x is not None:
        data["x"] = answers.x
    if answers.y is not None:
        data["y"] = answers.y
    return problem_from_data(data, name), name
