"""``chainrule explain``: golden outputs for the recitation's cases, one-line errors, LaTeX that compiles."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("CHAINRULE_UPDATE_GOLDEN") == "1"  # regenerate: CHAINRULE_UPDATE_GOLDEN=1 pytest …

EXT = {"text": "txt", "markdown": "md", "latex": "tex", "json": "json"}
CASES = [("recitation-3.1", "scalar"), ("recitation-3.2", "vector"), ("recitation-3.3", "vector")]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["explain", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", list(EXT))
@pytest.mark.parametrize("name, form", CASES)
def test_golden(capsys, name, form, fmt):
    code, out, err = run_cli(capsys, EXAMPLES / f"{name}.toml", "--form", form, "--format", fmt)
    assert code == 0, err
    path = GOLDEN / f"{name}-{form}.{EXT[fmt]}"
    if UPDATE:
        path.write_text(out, encoding="utf-8")
    want = path.read_text(encoding="utf-8")
    if fmt == "json":  # full-precision floats: equal up to the last bits a libm's tanh may differ in
        got, ref = json.loads(out), json.loads(want)
        for key in ("yhat", "loss", "grad_yhat"):
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-13, atol=1e-16)
        assert [layer["type"] for layer in got["layers"]] == [layer["type"] for layer in ref["layers"]]
        dense = [[layer for layer in d["layers"] if "weights" in layer] for d in (got, ref)]
        for a, b in zip(*dense, strict=True):
            for key in ("a", "z", "grad_a", "grad_z", "grad_weights", "weights"):
                np.testing.assert_allclose(a[key], b[key], rtol=1e-13, atol=1e-16)
    else:
        assert out == want


def test_no_arguments_explains_section_3_1(capsys):
    code, out, _ = run_cli(capsys)
    assert code == 0
    for s in (
        "a₁ = Σᵢ α₁,ᵢ xᵢ = 0 · 1 + 1 · 1 + 2 · 2 = 5",
        "z₁ = tanh(a₁) = tanh(5) = 0.9999092",  # the recitation's 0.99991, to 8 significant digits
        "= 4.9180739",
        "ℓ = ½ (ŷ − y)² = ½ · (4.9180739 − 3)² = 1.8395037",
        "∂z₁/∂a₁ = 1 − tanh²(a₁) = 1 − tanh²(5) = 0.00018158323",
        "∂ℓ/∂a₁ · x₁ = 0.00034829005 · 1 = 0.00034829005",
        "∂ℓ/∂ŷ · z₁ = 1.9180739 · 0.9999092 = 1.9178997",
    ):
        assert s in out, s
    assert out == (GOLDEN / "recitation-3.1-scalar.txt").read_text(encoding="utf-8")


def test_every_example_explains_in_every_form(capsys, tmp_path):
    for spec in sorted(EXAMPLES.glob("*.toml")):
        for form in ("scalar", "vector"):
            code, out, err = run_cli(capsys, spec, "--form", form, "--check", "--round-each-step")
            assert code == 0 and "∂ℓ/∂" in out, (spec, err)
    code, _, _ = run_cli(capsys, EXAMPLES / "deep.toml", "--wrt", "alpha2[1,3]", "-o", tmp_path / "o.txt")
    assert code == 0 and "∂ℓ/∂α⁽²⁾₁,₃" in (tmp_path / "o.txt").read_text(encoding="utf-8")


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "net.toml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD_LAYERS = """
[[layers]]
weights = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]
activation = "tanh"
[[layers]]
weights = [[0, 1, 2, 2]]
"""


@pytest.mark.parametrize(
    "body, words",
    [
        ("x = [1, 2]\ny = 3\n", ["key 'layers'", "missing"]),
        ("x = [1, 2]\n" + GOOD_LAYERS, ["key 'y'", "missing"]),
        ("y = 3\n" + GOOD_LAYERS, ["key 'x'", "missing"]),
        ("x = [1, 2]\ny = 3\n[[layers]]\nweights = [[0, 1, 2, 3]]\n", ["weights", "4 columns", "expected 3"]),
        ("x = [1, 2]\ny = 3\n" + GOOD_LAYERS.replace("[[0, 1, 2, 2]]", "[[0, 1, 2]]"), ["weights", "expected 4"]),
        ("x = [1, 2]\ny = 3\n" + GOOD_LAYERS.replace('"tanh"', '"swish"'), ["activation", "swish"]),
        (
            "x = [1, 2]\ny = 3\n" + GOOD_LAYERS.replace("[2, 1, 0]", '[2, "one", 0]'),
            ["weights", "'one'", "not a number"],
        ),
        ("x = [1, 2\n", ["not valid TOML"]),
        ("x = [1, 2]\ny = [3, 4]\n" + GOOD_LAYERS, ["key 'y'", "1 output(s)", "[3.0, 4.0]"]),
        ("x = [1, 2]\ny = []\n" + GOOD_LAYERS, ["key 'y'", "one number"]),
        (
            "x = [1, 2]\ny = 3\n"
            + GOOD_LAYERS.replace("[0, 1, 2, 2]", "[1e300, 1e300, 1e300, 1e300]").replace(
                "[0, 1, 2],", "[1e300, 1e300, 1e300],"
            ),
            ["overflows float64", "smaller inputs or weights"],
        ),
        (
            "x = [1, 2]\ny = [0.5, 0.7]\nloss = 'cross-entropy'\n[[layers]]\nweights = [[0, 1, 2], [0, 2, 1]]\n",
            ["key 'y'", "summing to 1", "[0.5, 0.7]"],
        ),
        (
            "x = [1, 2]\ny = [1, 0]\nloss = 'cross-entropy'\n[[layers]]\nweights = [[0, 1, 2], [0, 2, 1], [0, 0, 0]]\n",
            ["key 'y'", "length 3", "got [1.0, 0.0]"],
        ),
    ],
)
def test_bad_specs_give_one_line_naming_file_key_problem(capsys, tmp_path, body, words):
    path = write(tmp_path, body)
    code, out, err = run_cli(capsys, path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize(
    "wrt, words",
    [
        ("alpha[4,1]", ["j in 1…3", "i = 0 is the bias"]),
        ("beta[7]", ["beta[0…3]"]),
        ("alpha2[1,1]", ["no hidden layer 2"]),
        ("weights", ["expected a weight such as alpha[1,1], beta[1]"]),
    ],
)
def test_wrt_naming_a_missing_weight(capsys, wrt, words):
    code, out, err = run_cli(capsys, "--wrt", wrt)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--wrt" in err
    for w in words:
        assert w in err, err


def test_wrt_accepts_greek_and_layer_numbers(capsys):
    for wrt in ("alpha1[1,1]", "α[1,1]", "alpha(1)[1,1]", "α₁,₁", "α⁽¹⁾₁,₁"):
        code, out, _ = run_cli(capsys, "--wrt", wrt)
        assert code == 0 and "∂ℓ/∂α₁,₁ = ∂ℓ/∂ŷ ∂ŷ/∂α₁,₁" in out
    code, out, _ = run_cli(capsys, EXAMPLES / "deep.toml", "--wrt", "α⁽²⁾₂,₁")  # as printed, copied back
    assert code == 0 and "∂ℓ/∂α⁽²⁾₂,₁ = ∂ℓ/∂a⁽²⁾₂" in out
    code, out, _ = run_cli(capsys, "--wrt", "β₃")
    assert code == 0 and "∂ℓ/∂β₃ = ∂ℓ/∂ŷ ∂ŷ/∂β₃" in out


def test_decimals_out_of_range_names_the_flag(capsys):
    code, out, err = run_cli(capsys, "--decimals", "16")
    assert code == 2 and out == "" and err.startswith("chainrule explain: error: --decimals 16: ")


def test_the_command_never_shows_a_traceback(tmp_path):
    path = write(tmp_path, "x = [1, 2]\ny = 3\n[[layers]]\nweights = [[0, 1]]\n")
    r = subprocess.run([sys.executable, "-m", "chainrule", "explain", str(path)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_standalone_latex_compiles(capsys, tmp_path):
    for spec, form, *more in [
        ("recitation-3.1", "scalar"),
        ("recitation-3.3", "vector"),
        ("softmax-classifier", "vector"),
        ("deep", "scalar"),
        ("deep", "scalar", "--wrt", "alpha2[1,2]"),
        ("batchnorm", "scalar"),  # ā, ã, μ, σ², √(…)
    ]:  # the title names α⁽²⁾₁,₂ in LaTeX
        code, out, _ = run_cli(
            capsys, EXAMPLES / f"{spec}.toml", "--form", form, "--format", "latex", "--standalone", "--check", *more
        )
        assert code == 0 and out.isascii()
        tex = tmp_path / f"{spec}.tex"
        tex.write_text(out, encoding="utf-8")
        r = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,  # a safety limit only; each document compiles in well under a second
        )
        assert r.returncode == 0, r.stdout[-2000:]
        assert (tmp_path / f"{spec}.pdf").stat().st_size > 1000


def test_docs_show_the_real_output():
    doc = (ROOT / "docs" / "explain.md").read_text(encoding="utf-8")
    assert (GOLDEN / "recitation-3.1-scalar.txt").read_text(encoding="utf-8") in doc


def test_x_of_the_wrong_width_is_named(capsys):
    code, out, err = run_cli(capsys, "--x", "[1]")
    assert code == 2 and "key 'weights': has 3 columns; expected 2" in err and "or key 'x', with 1 value(s)" in err


def test_x_and_y_flags_replace_the_specs(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "recitation-3.1.toml", "--x", "[0, 1]", "--y", "3", "--form", "vector")
    assert code == 0
    assert out == (GOLDEN / "recitation-3.2-vector.txt").read_text(encoding="utf-8")
    code, _, err = run_cli(capsys, "--x", "[0, one]")
    assert code == 2 and "--x" in err and err.count("\n") == 1


def test_output_never_overwrites_the_input_and_names_bad_paths(capsys, tmp_path):
    path = write(tmp_path, (EXAMPLES / "recitation-3.1.toml").read_text(encoding="utf-8"))
    before = path.read_text(encoding="utf-8")
    code, out, err = run_cli(capsys, path, "-o", path)
    assert code == 2 and "that is the input file" in err and path.read_text(encoding="utf-8") == before
    for bad, words in [(tmp_path, "is a folder"), (tmp_path / "no" / "x.txt", "does not exist")]:
        code, out, err = run_cli(capsys, path, "-o", bad)
        assert code == 2 and words in err and err.count("\n") == 1, err
    code, _, err = run_cli(capsys, path, "-o", tmp_path / "out.txt")
    assert code == 0 and (tmp_path / "out.txt").read_text(encoding="utf-8").startswith("Forward and backward")


def test_header_names_every_hidden_layers_bias_input(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "deep.toml")
    assert code == 0 and "Bias folded in: x₀ = 1, z⁽¹⁾₀ = 1, z⁽²⁾₀ = 1." in out  # z⁽²⁾₀ multiplies β's bias


def test_layers_given_by_units_explain_the_same_on_every_run(capsys, tmp_path):
    path = write(tmp_path, "x = [1, 2]\ny = 1\n[[layers]]\nunits = 2\nactivation = 'tanh'\n[[layers]]\nunits = 1\n")
    outs = [run_cli(capsys, path)[1] for _ in range(2)]
    assert outs[0] == outs[1] and "Forward pass" in outs[0]


@pytest.mark.parametrize(
    "exc, code, words",
    [
        (BrokenPipeError(32, "Broken pipe"), 0, ""),  # an OSError too: `chainrule explain | head` is not an error
        (OSError(28, "No space left on device", "out.txt"), 2, "error: out.txt: No space left on device"),
        (OSError("no file named"), 1, "internal error: OSError"),
    ],
)
def test_os_errors_are_one_line(capsys, monkeypatch, exc, code, words):
    import chainrule.cli.explain as cmd

    def fail(args):
        raise exc

    monkeypatch.setattr(cmd, "run", fail)
    assert main(["explain"]) == code
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == (1 if words else 0), err


def test_digits_layout_and_vector_wrt_flags(capsys):
    code, out, _ = run_cli(capsys, EXAMPLES / "recitation-3.3.toml", "--form", "vector", "--layout", "column")
    assert code == 0 and "a = α x̂ = " in out
    code, out, _ = run_cli(capsys, "--digits", "3")
    assert code == 0 and "ŷ = Σⱼ βⱼ zⱼ = 0 · 1 + 1 · 1.00 + 2 · 0.995 + 2 · 0.964 = 4.92" in out
    for args, words in [
        (("--digits", "0"), "--digits 0: must be between 1 and 17"),
        (("--digits", "3", "--decimals", "3"), "not both"),
        (("--layout", "column"), "--layout column goes with --form vector"),
        (("--form", "vector", "--wrt", "alpha[1,1]"), "with --form vector"),
    ]:
        code, _, err = run_cli(capsys, *args)
        assert code == 2 and words in err and err.count("\n") == 1, (args, err)
