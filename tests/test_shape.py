"""Output-size arithmetic, ``chainrule shape`` and ``summary`` / ``chainrule summary``."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core import windows as win
from chainrule.nn.summary import summary
from chainrule.serialize import save_model


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_output_size_formula_matches_the_layers():
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, k, s, p, d = (
            int(v)
            for v in (
                rng.integers(1, 15),
                rng.integers(1, 6),
                rng.integers(1, 4),
                rng.integers(0, 4),
                rng.integers(1, 3),
            )
        )
        if d * (k - 1) + 1 > h + 2 * p:
            with pytest.raises(cr.ChainruleError, match="larger than the padded input"):
                win.output_size(h, k, s, p, d)
            continue
        want = cr.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, rng=0)(np.zeros((1, 1, h, 3 + 2 * k))).shape[2]
        assert win.output_size(h, k, s, p, d) == want == (h + 2 * p - d * (k - 1) - 1) // s + 1


def test_recitation_4_2_b_steps(capsys):
    code, out, _ = run(capsys, "shape", "9x6", "--kernel", "5", "--padding", "4", "--stride", "3")
    assert code == 0
    for step in ("9 × 6", "17 × 14", "12 × 9", "4 × 3", "5 × 4"):
        assert step in out
    assert out.index("17 × 14") < out.index("12 × 9") < out.index("4 × 3") < out.index("output: 5 × 4")
    code, out, _ = run(capsys, "shape", "9x6", "--kernel", "5", "--padding", "4", "--stride", "3", "--format", "json")
    d = json.loads(out)
    assert d["output"] == [5, 4] and d["padded"] == [17, 14] and d["minus_kernel"] == [12, 9]
    assert d["divided"] == [4, 3] and d["uncovered"] == [0, 0]


def test_shape_says_when_the_floor_drops_rows(capsys):
    code, out, _ = run(capsys, "shape", "10x7", "--kernel", "3", "--stride", "4")
    assert code == 0 and "output: 2 × 2" in out
    assert "last 3 row(s) of the padded input are never covered" in out
    d = json.loads(run(capsys, "shape", "10x7", "-k", "3", "-s", "4", "--format", "json")[1])
    assert d["uncovered"] == [3, 0] and d["uncovered_input"] == [3, 0]


def test_shape_channels_dilation_same_and_markdown(capsys):
    d = json.loads(
        run(capsys, "shape", "10x7x3", "-k", "3", "-s", "2", "-d", "2", "-p", "same", "-f", "8", "--format", "json")[1]
    )
    assert d["output"] == [5, 4, 8] and d["padding"] == [[1, 2], [2, 2]]
    conv = cr.Conv2d(3, 8, 3, stride=2, dilation=2, padding="same", rng=0)
    assert conv(np.zeros((1, 3, 10, 7))).shape == (1, 8, 5, 4)
    code, out, _ = run(capsys, "shape", "28x28x3", "-k", "5", "--format", "markdown")
    assert code == 0 and "| H + 2P × W + 2P | 28 × 28 |" in out and "depthwise" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["2x2", "-k", "5", "-p", "1"], "kernel is 5×5 but the padded input is only 4×4 (H×W=2×2, P=1)"),
        (["9x6", "-k", "3", "-s", "0"], "stride must be ≥ 1, got 0"),
        (["9x6", "-k", "3", "-d", "0"], "dilation must be ≥ 1, got 0"),
        (["9x6", "-k", "3", "-p", "-1"], "padding must be ≥ 0, got -1"),
        (["9y6", "-k", "3"], "input size '9y6' is not understood"),
        (["9x6x3x2", "-k", "3"], "has 4 number(s); expected 2 or 3"),
    ],
)
def test_shape_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "shape", *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def cnn():
    rng = np.random.default_rng(0)
    return cr.Sequential(
        cr.Conv2d(1, 4, 3, padding=1, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Conv2d(4, 8, 3, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Flatten(),
        cr.Linear(8, 10, rng=rng),
    )


def test_summary_function():
    s = summary(cnn(), (1, 8, 8))
    assert [r.output_shape for r in s.rows] == [
        (4, 8, 8),
        (4, 8, 8),
        (4, 4, 4),
        (8, 2, 2),
        (8, 2, 2),
        (8, 1, 1),
        (8,),
        (10,),
    ]
    assert [r.params for r in s.rows] == [40, 0, 0, 296, 0, 0, 0, 90]
    assert s.total_params == cnn().num_parameters() == 426
    assert "⌊(8 + 2 − 3)/1⌋ + 1 = 8" in s.rows[0].shape_formula
    assert "4·1·3·3 + 4 = 40" in s.rows[0].params_formula
    assert "floor" not in s.rows[2].shape_formula
    assert "the floor drops the last 1" in summary(cnn(), (1, 9, 9)).rows[2].shape_formula  # (9 − 2) / 2
    assert "total parameters: 426" in str(s)
    dense = cr.Sequential(cr.Linear(2, 3, rng=0), cr.Tanh(), cr.Linear(3, 1, rng=0))
    assert summary(dense).input_shape == (2,)
    with pytest.raises(cr.ChainruleError, match="--input 1x8x8"):
        summary(cnn())
    with pytest.raises(cr.ChainruleError, match=r"layer 0 .* on an input of shape 3×8×8: .*3 channel"):
        summary(cnn(), (3, 8, 8))


def test_summary_command_model_file_and_spec(tmp_path, capsys):
    save_model(tmp_path / "cnn.safetensors", cnn())
    code, out, err = run(capsys, "summary", str(tmp_path / "cnn.safetensors"))
    assert code == 2 and "--input" in err
    code, out, _ = run(capsys, "summary", str(tmp_path / "cnn.safetensors"), "--input", "1x8x8", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["total_params"] == 426 and d["layers"][2]["output_shape"] == [4, 4, 4]
    spec = tmp_path / "cnn.toml"
    spec.write_text(
        'input = [1, 8, 8]\n[[layers]]\ntype = "conv2d"\nout_channels = 2\nkernel_size = 3\n'
        'activation = "relu"\n[[layers]]\ntype = "maxpool2d"\nkernel_size = 2\n'
        '[[layers]]\ntype = "flatten"\n[[layers]]\nunits = 3\n'
    )
    code, out, _ = run(capsys, "summary", str(spec))
    assert code == 0 and "2×6×6" in out and "2×3×3" in out and "18 → 3 features" in out
    code, _, err = run(capsys, "summary", str(tmp_path / "nothing.txt"))
    assert code == 2 and "expected a model file" in err
