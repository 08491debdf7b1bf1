"""chainrule check: each listed mistake is named, follow-through is credited, precision is judged
as written, bad answer files are one line and exit 2."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from chainrule.check.judge import Written, matches
from chainrule.cli import main

SOFTMAX = "examples/softmax-classifier.toml"


def check(tmp_path, capsys, text, *flags):
    path = tmp_path / "answers.txt"
    path.write_text(text, encoding="utf-8")
    code = main(["check", str(path), "--format", "json", *flags])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code in (0, 1) else out.err)


def by_name(report):
    return {v["name"]: v for v in report["values"]}


def test_precision_as_written():
    assert matches(Written("3.14"), np.pi) and not matches(Written("3.15"), np.pi)
    assert matches(Written("3.1416"), np.pi) and not matches(Written("3.146"), np.pi)
    assert not matches(Written("5"), 5.3)  # never coarser than three significant digits
    assert matches(Written("8.99e-7"), 8.9907346e-7) and not matches(Written("8.9e-7"), 8.9907346e-7)


def test_recitation_all_right_with_fewer_digits(tmp_path, capsys):
    text = """# section 3.1, rounded as a learner writes them
a1 = 5
a2 = 3
z1 = 0.99991
z2 = 0.995
z3 = 0.964
yhat = 4.918
loss = 1.84
dl/dyhat = 1.91807
dl/dbeta = [1.91807, 1.9179, 1.90859, 1.84908]
dl/dalpha[1,1] = 0.000348
dl/dalpha = [[0.000348, 0.000348, 0.000697], [0.03785, 0.03785, 0.0757], [0.27103, 0.27103, 0.54205]]
"""
    code, report = check(tmp_path, capsys, text.replace("dl/dalpha[1,1] = 0.000348\n", ""))
    assert code == 0 and report["all_right"], report
    assert {v["status"] for v in report["values"]} == {"right"}
    code, _ = check(
        tmp_path, capsys, "α₁,₁ = 0\n∂ℓ/∂α₁,₁ = 0.000348\nℓ = 1.8395\ndJ/dŷ = 1.91807\n".replace("α₁,₁ = 0\n", "")
    )
    assert code == 0


DENSE_MISTAKES = [
    ("a2 = 1\nz2 = 0.76159\n", "a2", "missing-bias", "z2"),  # α₂,₀ = 2 left out; z₂ = tanh(1) follows
    ("a2 = 6\n", "a2", "swapped-indices", None),
    ("dz1/da1 = 0.99991\ndl/da1 = 1.9179\n", "dz1/da1", "activation-derivative", "dl/da1"),
    ("z1 = 0.99331\nyhat = 4.91147\n", "z1", "wrong-activation", "yhat"),  # σ(5) for tanh(5)
    ("dl/dyhat = -1.91807\ndl/dbeta1 = -1.9179\ndl/dalpha11 = -0.000348\n", "dl/dyhat", "sign", "dl/dbeta1"),
    ("loss = 3.67901\ndl/dyhat = 3.83615\ndl/dbeta[2] = 3.81718\n", "loss", "missing-half", "dl/dbeta[2]"),
    ("a1 = 4.91807\n", "a1", "wrong-layer", None),  # the output layer's ŷ
    ("z1 = 1.0\ndz1/da1 = 0\n", "dz1/da1", "early-rounding", None),
    ("dl/da1 = 0\n", "dl/da1", "early-rounding", None),  # z rounded to 1 before 1 − z²
    ("a1 = 7\n", "a1", "unknown", None),
]


@pytest.mark.parametrize("text, first, diagnosis, follows", DENSE_MISTAKES)
def test_dense_mistakes_are_named_and_followed_through(tmp_path, capsys, text, first, diagnosis, follows):
    code, report = check(tmp_path, capsys, text)
    assert code == 1
    values = by_name(report)
    wrong = [v for v in report["values"] if v["status"] == "wrong"]
    assert wrong[0]["name"] == first and wrong[0]["diagnosis"] == diagnosis, report
    if follows:
        assert values[follows]["status"] == "follow-through", report
        assert "consistent with your" in values[follows]["note"]


def test_softmax_gradient_without_minus_y(tmp_path, capsys):
    code, report = check(tmp_path, capsys, f'network = "{SOFTMAX_PATH}"\ndl/db[3] = 0.71307\n')
    assert code == 1 and report["values"][0]["diagnosis"] == "softmax-gradient", report


SOFTMAX_PATH = str(Path(__file__).parent.parent / SOFTMAX)


def test_rounding_carried_through_is_right(tmp_path, capsys):
    # recitation 3.2 prints ℓ = 0.005822284, from ŷ rounded to 2.89209 (exact: 0.0058230675)
    code, report = check(tmp_path, capsys, 'network = "recitation-3.2"\nyhat = 2.89209\nloss = 0.005822284\n')
    assert code == 0 and "rounding carried through from your ŷ = 2.89209" in report["values"][1]["note"]
    code, report = check(tmp_path, capsys, 'network = "recitation-3.2"\nloss = 0.005822284\n')
    assert code == 1  # without the rounded ŷ written down, the rounding cannot be traced


def test_text_report_shows_the_correct_line_beside_the_first_wrong(tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_text("a1 = 6\nz1 = 0.99999\na2 = 3\n", encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "✗ a₁ = 6" in out and "correct: a₁ = Σᵢ α₁,ᵢ xᵢ = 0 · 1 + 1 · 1 + 2 · 2 = 5" in out
    assert "→ z₁ = 0.99999   follow-through: consistent with your a₁ = 6" in out
    assert out.index("a₁ = 6") < out.index("a₂ = 3") < out.index("z₁ = 0.99999")  # derivation order
    assert main(["check", str(path), "--format", "markdown"]) == 1
    md = capsys.readouterr().out
    assert "| ✗ | `a[1]`" in md and "$$" in md


# --- convolution: a 6×6 input, a kernel that is not symmetric, padding 1, stride 2 -> 3×3 ---------------
X = [
    [1, 0, 2, -1, 3, 0],
    [2, 1, 0, 1, -2, 1],
    [0, 3, 1, 2, 0, -1],
    [1, -1, 2, 0, 1, 2],
    [2, 0, -1, 1, 3, 0],
    [0, 1, 2, -2, 1, 1],
]
F = [[1, 2, 0], [0, -1, 1], [2, 0, -1]]
CONV = f"[conv]\ninput = {X}\nkernel = {F}\nstride = 2\npadding = 1\n"


def torch_conv(kernel=F, stride=2, padding=1):
    x = torch.tensor(X, dtype=torch.float64)[None, None]
    return torch.nn.functional.conv2d(
        x, torch.tensor(kernel, dtype=torch.float64)[None, None], stride=stride, padding=padding
    )[0, 0].numpy()


def _cell(mistaken, right):
    i, j = np.argwhere(mistaken[: right.shape[0], : right.shape[1]] != right[: mistaken.shape[0], : mistaken.shape[1]])[
        0
    ]
    return i, j


@pytest.mark.parametrize(
    "diagnosis, mistaken",
    [
        ("kernel-flip", lambda: torch_conv(kernel=np.rot90(np.array(F), 2).copy().tolist())),
        ("padding", lambda: torch_conv(padding=0)),
        ("stride", lambda: torch_conv(stride=1)),
    ],
)
def test_conv_mistakes(tmp_path, capsys, diagnosis, mistaken):
    (tmp_path / "conv.toml").write_text(CONV)
    right, wrong = torch_conv(), mistaken()
    i, j = _cell(wrong, right)
    text = f'network = "conv.toml"\noutput = 3x3\nY[{i + 1},{j + 1}] = {wrong[i, j]:g}\n'
    code, report = check(tmp_path, capsys, text)
    assert code == 1
    (bad,) = [v for v in report["values"] if v["status"] == "wrong"]
    assert bad["diagnosis"] == diagnosis and bad["expected"] == right[i, j], report


def test_conv_follow_through_from_the_output_size(tmp_path, capsys):
    (tmp_path / "conv.toml").write_text(CONV)
    y0 = torch_conv(padding=0)  # padding forgotten: 2×2 instead of 3×3
    code, report = check(tmp_path, capsys, f'network = "conv.toml"\noutput = 2x2\nY = {y0.tolist()}\n')
    assert code == 1
    assert report["values"][0]["status"] == "wrong"
    cells = [v for v in report["values"] if v["qid"].startswith("Y[") and v["status"] != "right"]
    assert cells and all(v["status"] == "follow-through" for v in cells), report
    assert "consistent with your output rows = 2, output columns = 2" in cells[0]["note"]


def test_sigmoid_derivative_taken_as_sigma(tmp_path, capsys):
    from chainrule.check.network import problem_from_data
    from chainrule.spec import read_spec_data

    deep = str(Path(__file__).parent.parent / "examples" / "deep.toml")
    z = problem_from_data(read_spec_data(deep), deep).expected["z1[1]"]  # σ(a⁽¹⁾₁)
    code, report = check(tmp_path, capsys, f'network = "{deep}"\ndz1[1]/da1[1] = {z:.5f}\n')
    assert code == 1 and report["values"][0]["diagnosis"] == "activation-derivative", report


def test_conv_all_right_and_output_size_mistakes(tmp_path, capsys):
    (tmp_path / "conv.toml").write_text(CONV)
    code, report = check(tmp_path, capsys, f'network = "conv.toml"\nY = {torch_conv().tolist()}\noutput = 3x3\n')
    assert code == 0, report
    for size, diagnosis in (("2x2", "output-size"), ("3.5x3.5", "output-size"), ("6x6", "stride")):
        h, w = size.split("x")
        code, report = check(tmp_path, capsys, f'network = "conv.toml"\noutput rows = {h}\noutput columns = {w}\n')
        assert code == 1 and report["values"][0]["diagnosis"] == diagnosis, (size, report)
    code, report = check(tmp_path, capsys, 'network = "recitation-4.2b"\noutput = 4x4\n')  # 9×6, K5 P4 S3
    assert [v["diagnosis"] if v["status"] == "wrong" else "ok" for v in report["values"]] == ["output-size", "ok"]
    code, report = check(tmp_path, capsys, 'network = "recitation-4.2b"\noutput = 3x2\n')  # P once: 13, 10
    assert report["values"][0]["diagnosis"] == "padding", report


@pytest.mark.parametrize(
    "text, needle",
    [
        ("a1 = five\n", "line 1: a1: 'five' is not a number"),
        (
            "a1 = 5\ndl/dalpa[1,1] = 3\n",
            "line 2: 'dl/dalpa[1,1]' is not a quantity of this network; did you mean 'dl/dalpha[1,1]'?",
        ),
        ("a1 5\n", "line 1:"),
        ("dl/dbeta = [1, 2]\n", "dl/dbeta has 4 entries"),
        ("a1 = [1, 2\n", "not closed"),
        ('network = "missing.toml"\na1 = 5\n', "no such file"),
        ("a1 = 5\na1 = 5\n", "given twice"),
        ("a1 = 1e999\n", "line 1: a1: '1e999' is too large a number"),  # not an OverflowError
        ("dl/dbeta = [1, 2, -1e400, 4]\n", "'-1e400' is too large a number"),
    ],
)
def test_bad_answer_files_are_one_line_exit_2(tmp_path, capsys, text, needle):
    code, err = check(tmp_path, capsys, text)
    assert code == 2 and needle in err and err.count("\n") == 1, err


@pytest.mark.parametrize("spec", ["examples/recitation-3.1.toml", "examples/deep.toml", SOFTMAX])
def test_replay_without_changes_is_the_explainers_numbers(spec):
    """The engine run layer by layer (what follow-through and the mistakes use) gives exactly the values
    chainrule explain prints: the same engine, the same operations."""
    from chainrule.check.network import problem_from_data
    from chainrule.check.replay import replay
    from chainrule.spec import read_spec_data

    p = problem_from_data(read_spec_data(spec), spec)
    got = replay(p.nw, p.names)
    shared = [q for q in p.expected if q in got]
    assert len(shared) == len(p.expected)
    assert {q: got[q] for q in shared} == p.expected
