"""Every printed line is honest arithmetic: it holds on its printed operands, or says ≈.

The test reads the text output, takes each line ``… = <numeric expression> = <result>``, evaluates the
expression from the printed operands in float64 and checks that rounding it the way results are
printed (``NumberFormat.round``) gives exactly the printed result. A line written ``… ≈ <result>`` (the
default mode, where the operands shown are rounded) must really not hold; with ``--round-each-step`` no
line needs ≈.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from test_explain import random_case, recitation_net

import chainrule as cr
from chainrule.explain.numbers import NumberFormat

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

NAMES = {
    "tanh": math.tanh,
    "tanh2": lambda a: math.tanh(a) ** 2,
    "sig": lambda a: 1 / (1 + math.exp(-a)),
    "exp": math.exp,
    "log": math.log,
    "max": lambda *a: max(a),  # a pooling window with one real cell (the rest padding) prints max(v)
    "step": lambda b: 1.0 if b else 0.0,
    "min": min,
    "Phi": lambda a: 0.5 * (1 + math.erf(a / math.sqrt(2))),
    "phi": lambda a: math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi),
    "sqrt": math.sqrt,
}
_NUMERIC = re.compile(r"^[-+*/(). 0-9e,<>=]*$")
_REL = re.compile(r" ([=≈]) ")


def to_python(expr: str) -> str | None:
    """The printed expression as Python, or None when it is not numbers and functions only."""
    s = expr.strip()
    for a, b in (
        ("−log(", "-log("),
        ("tanh²(", "tanh2("),
        ("−", "-"),
        ("·", "*"),
        ("½", "0.5"),
        ("²", "**2"),
        ("σ(", "sig("),
        ("𝟙(", "step("),
        ("Φ(", "Phi("),
        ("φ(", "phi("),
        ("≤", "<="),
        ("√(", "sqrt("),
    ):
        s = s.replace(a, b)
    bare = re.sub(r"\b(tanh2|tanh|sig|exp|log|max|min|step|Phi|phi|sqrt)\(", "(", s)
    if not _NUMERIC.match(bare) or not re.search(r"\d", bare) or "[" in s:
        return None
    return s


def _holds(value: float, result: str, fmt: NumberFormat) -> bool:
    printed = float(result)
    if fmt.round(value) == printed:
        return True
    # an exact tie in the last place may round either way after summing in another order
    m, exp10 = fmt.parts(printed)
    ulp = 10.0 ** ((exp10 or 0) - (len(m.split(".")[1]) if "." in m else 0))
    return abs(abs(value - printed) - ulp / 2) < 1e-9 * max(1.0, abs(value))


def check_lines(text: str, fmt: NumberFormat, exact: bool = True) -> int:
    """The number of arithmetic lines checked; ``exact``: no line may need ≈ (hand-rounding mode)."""
    checked = 0
    for line in text.splitlines():
        pieces = _REL.split(line)  # lhs, rel, rhs, rel, rhs …
        if len(pieces) < 5:
            continue
        expr, rel, result = to_python(pieces[-3]), pieces[-2], pieces[-1].strip().replace("−", "-")
        if expr is None or not re.fullmatch(r"-?[0-9.]+(e[-+]\d+)?", result):
            continue
        value = eval(expr, {"__builtins__": {}}, NAMES)  # noqa: S307 (our own printed numbers)
        holds = _holds(value, result, fmt)
        if rel == "=":
            assert holds, f"{line!r}: {expr} = {value!r}, which prints as {fmt.text(value)}, not {result}"
        else:
            # by hand every step holds exactly; only --wrt's closed form (a continuation line) skips steps
            assert not exact or line.startswith(" "), f"{line!r}: ≈ in a mode where every step holds exactly"
            assert not holds, f"{line!r}: written ≈ but {expr} = {value!r} holds"
        checked += 1
    return checked


DIGITS = [dict(decimals=5), dict(decimals=2), dict(digits=3), dict()]  # dict(): the default, 8 digits


@pytest.mark.parametrize("x", [[1, 2], [0, 1], [2, 3]])
@pytest.mark.parametrize("digits", DIGITS)
@pytest.mark.parametrize("by_hand", [True, False])
def test_recitation_lines_hold_as_printed(x, digits, by_hand):
    e = cr.explain(recitation_net(), x, 3, round_each_step=by_hand, **digits)
    n = check_lines(e.to_text(), e.fmt, exact=by_hand)
    assert n >= 3 + 3 + 1 + 1 + 1 + 4 + 3 + 6 + 9  # every a, z, ŷ, ℓ and every backward step
    w = cr.explain(recitation_net(), x, 3, round_each_step=by_hand, wrt="alpha[1,1]", **digits)
    assert check_lines(w.to_text(), w.fmt, exact=by_hand) >= 6  # with the closed form's line


def test_rounding_by_hand_keeps_the_recitations_tanh_factor():
    # 3.1: 1 − tanh²(5), not 1 − 0.99991²: ∂ℓ/∂α₁,₁ = 1.91807 · 0.000182 = 0.000348 (not 0.000345)
    for digits in (dict(decimals=5), dict()):
        by_hand = cr.explain(recitation_net(), [1, 2], 3, round_each_step=True, **digits)
        assert round(by_hand.trace.stages[0].grad_weights[0, 1], 6) == 0.000348
    assert "∂z₁/∂a₁ = 1 − tanh²(a₁) = 1 − tanh²(5) = 0.00018158323" in by_hand.to_text()
    # 3.3: z₁ rounds to 1 at 5 decimals, but the α₁ gradients stay (8.99e−7, 1.80e−6, 2.70e−6)
    e33 = cr.explain(recitation_net(), [2, 3], 3, round_each_step=True, decimals=5, form="vector")
    np.testing.assert_allclose(e33.trace.stages[0].grad_weights[0], [8.99e-7, 1.80e-6, 2.70e-6], rtol=2e-3)
    exact = cr.explain(recitation_net(), [1, 2], 3)
    assert exact.trace.stages[0].grad_weights[0, 1] == pytest.approx(0.00034829005, abs=1e-12)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("decimals", [4, 3])
def test_random_network_lines_recompute_exactly(seed, decimals):
    net, x, y, loss = random_case(seed)
    for by_hand in (True, False):
        e = cr.explain(net, np.round(x, 2), y, loss, decimals=decimals, round_each_step=by_hand)
        assert check_lines(e.to_text(), e.fmt, exact=by_hand) > 5
        target = e._deriver.n._wrt_examples()[0]
        w = cr.explain(net, np.round(x, 2), y, loss, decimals=decimals, round_each_step=by_hand, wrt=target)
        assert check_lines(w.to_text(), w.fmt, exact=by_hand) >= 2


def edge_networks():
    rng = np.random.default_rng(7)
    L = cr.Linear
    return [
        (cr.Sequential(L(2, 3, rng=rng), L(3, 1, rng=rng)), None),  # no activation at all
        (cr.Sequential(L(2, 3, rng=rng), cr.Softmax()), cr.SquaredError()),  # softmax, not fused
        (cr.Sequential(L(2, 3, rng=rng), cr.Softmax(), L(3, 2, rng=rng), cr.Sigmoid()), cr.MSELoss()),
        (cr.Sequential(L(2, 3, rng=rng)), cr.CrossEntropyLoss()),  # probability target
        (cr.Sequential(L(2, 3, rng=rng), cr.ReLU(), L(3, 3, rng=rng), cr.Softmax()), None),  # fused by default
    ]


TARGETS = [0.5, [0.2, 0.3, 0.5], [1, 0], [0.2, 0.3, 0.5], 1]


@pytest.mark.parametrize("case", range(5))
def test_edge_networks_every_weight(case):
    net, loss = edge_networks()[case]
    y = TARGETS[case]
    e = cr.explain(net, [0.5, -1.5], y, loss, round_each_step=True, decimals=4)
    assert check_lines(e.to_text(), e.fmt) > 3
    for form in ("scalar", "vector"):
        for fmt in ("text", "markdown", "latex", "json"):
            assert cr.explain(net, [0.5, -1.5], y, loss, form=form, check=True).render(fmt)
    for s, st in enumerate(e.trace.stages, start=1):
        name = e._deriver.n.name(s)
        for j in range(1, st.width + 1):
            for i in range(st.weights.shape[1]):
                wrt = f"beta[{i}]" if name == "beta" and st.width == 1 else f"{name}[{j},{i}]"
                w = cr.explain(net, [0.5, -1.5], y, loss, wrt=wrt, round_each_step=True, decimals=4)
                check_lines(w.to_text(), w.fmt)
                assert w.to_dict()["wrt"]["value"] == st.grad_weights[j - 1, i]  # same rounded pass


@pytest.mark.parametrize("decimals", [0, 1, 5])
def test_loss_line_recomputes_when_y_has_more_digits_than_printed_differences(decimals):
    # ŷ − y was rounded inside the loss but not printed: ½ · (2 − 5e-01)² was shown as 2, not 1
    net = cr.Sequential(cr.Linear.from_folded([[0, 1, 1]]))
    for loss in (cr.SquaredError(), cr.MSELoss()):
        e = cr.explain(net, [1, 1], 0.5 + 1e-7, loss, decimals=decimals, round_each_step=True)
        assert check_lines(e.to_text(), e.fmt) >= 3


def rectifier_networks():
    import chainrule.nn as nn

    rng = np.random.default_rng(3)
    for act in (nn.LeakyReLU(0.1), nn.ELU(0.5), nn.GELU(), nn.SiLU(), cr.ReLU(), cr.Sigmoid(), cr.Identity()):
        yield cr.Sequential(cr.Linear(2, 3, rng=rng), act, cr.Linear(3, 2, rng=rng), cr.Tanh())


@pytest.mark.parametrize("case", range(7))
@pytest.mark.parametrize("by_hand", [True, False])
def test_every_dense_layer_type_holds_as_printed(case, by_hand):
    net = list(rectifier_networks())[case]
    for digits in (dict(decimals=4), dict()):
        e = cr.explain(net, [0.5, -1.5], [0.2, -0.1], cr.MSELoss(), round_each_step=by_hand, **digits)
        assert check_lines(e.to_text(), e.fmt, exact=by_hand) >= 2 * 3 + 2 * 3 + 2 + 1 + 3 * 3
        w = cr.explain(net, [0.5, -1.5], [0.2, -0.1], cr.MSELoss(), round_each_step=by_hand, wrt="alpha[2,1]")
        assert check_lines(w.to_text(), w.fmt, exact=by_hand) >= 4
        for form in ("vector",):
            assert cr.explain(net, [0.5, -1.5], [0.2, -0.1], form=form, layout="column").render("latex")


def test_gelu_with_the_tanh_approximation_is_refused_by_name():
    import chainrule.nn as nn

    net = cr.Sequential(cr.Linear(2, 2, rng=0), nn.GELU(approximate="tanh"), cr.Linear(2, 1, rng=1))
    with pytest.raises(cr.ChainruleError, match=r"layer 1: GELU\(approximate='tanh'\)"):
        cr.explain(net, [1, 2], 0.5)


# --- convolutional networks (explain/cnn.py): conv, pooling, flatten and update lines -------------
CNN_LINES = {  # what each kind of line starts with -> how many of them were recomputed
    "conv forward": "Y",
    "map activation": "Z",
    "map activation factor (1 − tanh²(Y[c,i,j]), σ(Y)(1 − σ(Y)))": "∂Z",
    "pooling forward": "P",
    "kernel gradient": "∂ℓ/∂F",
    "bias gradient": "∂ℓ/∂B",
    "gradient through a pool or activation": "∂ℓ/∂Z",
    "gradient into a map": "∂ℓ/∂Y",
    "flattened gradient": "∂ℓ/∂x",
    "kernel update": "F⁺",
    "dense update": "α⁺",
}


def test_random_cnn_lines_recompute_exactly():
    from test_explain_cnn import random_cnn

    for by_hand in (True, False):  # --round-each-step, and the default mode (= or ≈ as the operands allow)
        seen = dict.fromkeys(CNN_LINES, 0)
        for seed in range(6):
            net, x, y, loss = random_cnn(seed)
            digits = dict(decimals=3 + seed % 2) if by_hand else {}
            e = cr.explain(net, x, y, loss, round_each_step=by_hand, lr=0.1, cells=4, **digits)
            text = e.to_text()
            assert check_lines(text, e.fmt, exact=by_hand) > 20
            for kind, start in CNN_LINES.items():
                lines = "\n".join(line for line in text.splitlines() if line.startswith(start))
                seen[kind] += check_lines(lines, e.fmt, exact=by_hand)
        assert all(seen.values()), (by_hand, seen)  # every kind of line was recomputed from its printed operands


def test_section_4_2a_lines_recompute_exactly():
    from chainrule.spec import load_spec

    spec = load_spec(EXAMPLES / "recitation-4.2a.toml")
    net, loss = spec.build()
    e = cr.explain(net, spec.x, spec.y, loss, round_each_step=True, lr=0.1, steps=2)
    assert check_lines(e.to_text(), e.fmt) == 4 + 1 + 4 + 1 + 9 + 10  # Y, ℓ, ∂ℓ/∂Y, ∂ℓ/∂B, ∂ℓ/∂F, updates


# --- BatchNorm (rules/batchnorm.py): normalised value, output, both gradients, γ⁺/δ⁺ ---------------
BN_LINES = {  # what each kind of line starts with (the input symbol carries a bar / a tilde)
    "normalised": "\u0304",
    "scaled and shifted": "\u0303",
    "gradient through it": "∂ℓ/∂a",
    "gamma gradient": "∂ℓ/∂γ",
    "gamma update": "γ⁺",
    "delta update": "δ⁺",
}


@pytest.mark.parametrize("by_hand", [True, False])
def test_batchnorm_lines_recompute_exactly(by_hand):
    from test_explain_batchnorm import random_cnn, random_dense

    seen = dict.fromkeys(BN_LINES, 0)
    cases = [random_dense(seed) for seed in (0, 1, 2, 3, 4)] + [random_cnn(seed) for seed in (0, 1)]
    for k, (net, x, y, loss) in enumerate(cases):
        digits = dict(decimals=3 + k % 2) if by_hand else {}
        e = cr.explain(net, np.round(x, 2), y, loss, round_each_step=by_hand, lr=0.1, cells=4, **digits)
        text = e.to_text()
        assert check_lines(text, e.fmt, exact=by_hand) > 10
        for kind, start in BN_LINES.items():
            lines = [line for line in text.splitlines() if line[1:2] == start or line.startswith(start)]
            seen[kind] += check_lines("\n".join(lines), e.fmt, exact=by_hand)
        if k == 0:
            v = cr.explain(net, np.round(x, 2), y, loss, round_each_step=by_hand, form="vector", **digits)
            assert check_lines(v.to_text(), v.fmt, exact=by_hand) > 0
    assert all(seen.values()), (by_hand, seen)
