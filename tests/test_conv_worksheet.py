"""The convolution worksheet: the recitation's 4.2(a), its sums equal the engine's numbers, its backward
numbers equal the engine's (and PyTorch's) gradients, --flip, formats, the picture, and errors."""

import json

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.cli import main
from chainrule.core import reference as ref
from chainrule.explain.convolution import ConvWriter, conv_worksheet

X = [[2, 3, -1, 2], [4, 1, 0, 1], [-2, 1, 3, 2], [-1, -2, 0, 5]]
F = [[1, 0, 1], [-1, 0, -1], [1, 0, 1]]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_recitation_4_2_a(capsys):
    code, out, _ = run(capsys, "conv", "--input", json.dumps(X), "--kernel", json.dumps(F))
    assert code == 0
    assert "cross-correlation" in out
    # the recitation's four worked cells, term by term
    assert "Y₁,₁ = (1 · 2 + 0 · 3 + 1 · (-1)) + (-1 · 4 + 0 · 1 + (-1) · 0) + (1 · (-2) + 0 · 1 + 1 · 3) = -2" in out
    assert "Y₁,₂ = (1 · 3 + 0 · (-1) + 1 · 2) + (-1 · 1 + 0 · 0 + (-1) · 1) + (1 · 1 + 0 · 3 + 1 · 2) = 6" in out
    assert "Y₂,₁ = (1 · 4 + 0 · 1 + 1 · 0) + (-1 · (-2) + 0 · 1 + (-1) · 3) + (1 · (-1) + 0 · (-2) + 1 · 0) = 2" in out
    assert "Y₂,₂ = (1 · 1 + 0 · 0 + 1 · 1) + (-1 · 1 + 0 · 3 + (-1) · 2) + (1 · (-2) + 0 · 0 + 1 · 5) = 2" in out
    assert "top left" in out and "bottom right" in out
    d = json.loads(run(capsys, "conv", "--input", json.dumps(X), "--kernel", json.dumps(F), "--format", "json")[1])
    assert d["output"] == [[[-2, 6], [2, 2]]]


def random_sheet(seed):
    rng = np.random.default_rng(seed)
    C, O = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 4, size=2))
    s = tuple(int(v) for v in rng.integers(1, 3, size=2))
    dil = tuple(int(v) for v in rng.integers(1, 3, size=2))
    pad = "same" if seed % 5 == 0 else tuple(int(v) for v in rng.integers(0, 3, size=2))
    hw = [int(rng.integers(dil[a] * (k[a] - 1) + 1, 8)) for a in (0, 1)]
    x = rng.integers(-3, 4, size=(C, *hw)).astype(float)
    kern = rng.integers(-2, 3, size=(O, C, *k)).astype(float)
    bias = rng.integers(-2, 3, size=O).astype(float) if seed % 2 else None
    ws = conv_worksheet(
        x,
        kern,
        stride=s,
        padding=pad,
        dilation=dil,
        bias=bias,
        backward=True,
        grad_output=None if seed % 3 == 0 else rng.normal(size=(O, *conv_out(x, kern, s, pad, dil))),
        flip=seed % 4 == 1,
    )
    return ws, x, kern, bias, s, pad, dil


def conv_out(x, kern, s, pad, dil):
    layer = cr.Conv2d(x.shape[0], kern.shape[0], kern.shape[2:], stride=s, padding=pad, dilation=dil, rng=0)
    return layer.output_shape(x.shape)[1:]


@pytest.mark.parametrize("seed", range(30))
def test_worksheet_numbers_are_the_engines(seed):
    ws, x, kern, bias, s, pad, dil = random_sheet(seed)
    O, C, kh, kw, oh, ow = ws.shape
    # every written sum adds up to the value written after it (the engine's)
    for o in range(O):
        for i in range(oh):
            for j in range(ow):
                total = sum(f * v for f, v, _ in ws.forward_terms(o, i, j)) + (0 if bias is None else bias[o])
                assert total == pytest.approx(ws.y[o, i, j], abs=1e-12)
    for o in range(O):
        for c in range(C):
            for u in range(kh):
                for v in range(kw):
                    total = sum(g * xv for g, xv, _ in ws.kernel_grad_terms(o, c, u, v))
                    assert total == pytest.approx(ws.grad_kernel[o, c, u, v], abs=1e-12)
    for c in range(C):
        for r in range(x.shape[1]):
            for q in range(x.shape[2]):
                total = sum(g * f for g, f, _ in ws.input_grad_terms(c, r, q))
                assert total == pytest.approx(ws.grad_input[c, r, q], abs=1e-12)

    # … and those are the engine's gradients (a fresh layer, default path) and PyTorch's
    used = kern[:, :, ::-1, ::-1] if ws.flip else kern
    layer = cr.Conv2d(C, O, (kh, kw), stride=s, padding=pad, dilation=dil, bias=bias is not None, rng=0)
    layer.weight.data[...] = used
    if bias is not None:
        layer.bias.data[...] = bias
    y = layer(x[None])
    dx = layer.backward(ws.g[None])
    np.testing.assert_allclose(ws.y, y[0], atol=1e-12)
    np.testing.assert_allclose(ws.grad_input, dx[0], atol=1e-12)
    gw = layer.weight.grad[:, :, ::-1, ::-1] if ws.flip else layer.weight.grad
    np.testing.assert_allclose(ws.grad_kernel, gw, atol=1e-12)
    pads = layer.pads(x.shape[1:])
    xt = torch.nn.functional.pad(torch.tensor(x[None]), (pads[2], pads[3], pads[0], pads[1])).requires_grad_()
    wt = torch.tensor(np.ascontiguousarray(kern), requires_grad=True)
    wt_used = wt.flip(2, 3) if ws.flip else wt
    yt = torch.nn.functional.conv2d(xt, wt_used, None if bias is None else torch.tensor(bias), stride=s, dilation=dil)
    yt.backward(torch.tensor(ws.g[None]))
    np.testing.assert_allclose(ws.y, yt.detach().numpy()[0], atol=1e-10)
    np.testing.assert_allclose(ws.grad_kernel, wt.grad.numpy(), atol=1e-10)
    t, b, left, r = pads
    np.testing.assert_allclose(
        ws.grad_input, xt.grad.numpy()[0, :, t : t + x.shape[1], left : left + x.shape[2]], atol=1e-10
    )

    # the prose's recipe holds: G̃ correlated with the rotated (dilated) kernel, padding dropped, is ∂ℓ/∂X
    w = ConvWriter(ws, 64)
    gt = np.stack([w._g_tilde(o) for o in range(O)])[None]
    rot = np.ascontiguousarray(ws.used[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, O, KH, KW)
    full = ref.conv2d(gt, rot, None, (1, 1), (0, 0, 0, 0), dil, 1)[0]
    np.testing.assert_allclose(full[:, t : t + x.shape[1], left : left + x.shape[2]], ws.grad_input, atol=1e-12)


def test_flip_is_a_true_convolution(capsys):
    ws = conv_worksheet(X, F, flip=True)
    rot = np.array(F)[::-1, ::-1]
    want = ref.conv2d(np.array(X, float)[None, None], rot[None, None].copy(), None, (1, 1), (0,) * 4, (1, 1), 1)
    np.testing.assert_array_equal(ws.y, want[0])
    code, out, _ = run(capsys, "conv", "--input", json.dumps(X), "--kernel", "[[1,2],[3,4]]", "--flip")
    assert code == 0 and "true convolution" in out and "F'" in out
    assert (
        json.loads(run(capsys, "conv", "-x", json.dumps(X), "-k", json.dumps(F), "--flip", "--format", "json")[1])[
            "operation"
        ]
        == "convolution"
    )


def test_backward_cli_and_formats(capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.array(X, float))
    (tmp_path / "f.csv").write_text("\n".join(",".join(str(v) for v in row) for row in F))
    (tmp_path / "g.json").write_text("[[1, 2], [3, 4]]")
    args = [
        "conv",
        "--input",
        str(tmp_path / "x.npy"),
        "--kernel",
        str(tmp_path / "f.csv"),
        "--backward",
        "--grad-output",
        str(tmp_path / "g.json"),
    ]
    d = json.loads(run(capsys, *args, "--format", "json")[1])
    layer = cr.Conv2d(1, 1, 3, bias=False)
    layer.weight.data[0, 0] = F
    layer(np.array(X, float)[None, None])
    dx = layer.backward(np.array([[[[1.0, 2], [3, 4]]]]))
    assert d["grad_input"] == dx[0].tolist() and d["grad_kernel"] == layer.weight.grad.tolist()
    code, text, _ = run(capsys, *args)
    assert code == 0 and "∂ℓ/∂F₁,₁ = (1 · 2 + 2 · 3) + (3 · 4 + 4 · 1) = 24" in text
    assert "∂ℓ/∂X₁,₁ = 1 · 1 = 1" in text and "rot180(F)" in text
    for fmt, marker in (("markdown", "$$"), ("latex", r"\begin{align*}")):
        code, out, _ = run(capsys, *args, "--format", fmt)
        assert code == 0 and marker in out
    code, out, _ = run(capsys, *args, "--format", "latex", "--standalone")
    assert out.startswith(r"\documentclass")
    code, out, _ = run(capsys, "conv", "-x", json.dumps(X), "-k", json.dumps(F), "--backward")
    assert code == 0 and "every entry of dl/dY is 1" in out


def test_many_cells_are_cut_with_a_note(capsys):
    code, out, _ = run(capsys, "conv", "-x", json.dumps(np.ones((12, 12)).tolist()), "-k", "[[1]]", "--cells", "5")
    assert code == 0 and "139 more output cells" in out and "Y₁,₆" not in out


def test_png(tmp_path, capsys):
    code, _, _ = run(
        capsys, "conv", "-x", json.dumps(X), "-k", json.dumps(F), "--png", str(tmp_path / "w.png"), "--cell", "2,2"
    )
    assert code == 0 and (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run(
        capsys, "conv", "-x", json.dumps(X), "-k", json.dumps(F), "--png", str(tmp_path / "w.png"), "--cell", "3,1"
    )
    assert code == 2 and "outside the 2×2 output" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-x", "[[1,2],[3]]", "-k", "[[1]]"], "ragged"),
        (["-x", json.dumps(X), "-k", "[[1,2],[3,4]]", "-s", "0"], "stride must be ≥ 1, got 0"),
        (["-x", json.dumps(X), "-k", json.dumps(F), "-d", "0"], "dilation must be ≥ 1, got 0"),
        (["-x", json.dumps(X), "-k", json.dumps(F), "-p", "-1"], "padding must be ≥ 0, got -1"),
        (["-x", "[[1,2],[3,4]]", "-k", json.dumps(F), "-p", "0"], "kernel is 3×3 but the padded input is only 2×2"),
        (["-x", json.dumps([X, X]), "-k", json.dumps(F)], "kernel is 3×3 (one channel) but the input has 2 channels"),
        (["-x", json.dumps([X, X]), "-k", json.dumps([F, F, F])], "read as one filter it has 3 channel(s)"),
        (
            ["-x", json.dumps(X), "-k", json.dumps(F), "--backward", "-g", "[[1,2,3]]"],
            "grad-output is 1×3 but the output Y is 2×2",
        ),
        (["-x", json.dumps(X), "-k", json.dumps(F), "-g", "[[1,2],[3,4]]"], "--grad-output goes with --backward"),
        (["-x", json.dumps(X), "-k", json.dumps(F), "-b", "[1, 2]"], "bias has 2 value(s) but there are 1 filter(s)"),
        (["-x", "[[1, 2], [3, x]]", "-k", "[[1]]"], "is not a nested list of numbers"),
        (["-x", "missing.npy", "-k", "[[1]]"], "missing.npy: no such file"),
        (["-x", "[[1, NaN]]", "-k", "[[1]]"], "NaN"),
        (["-x", "[[1e200, 1e200]]", "-k", "[[1e200]]"], "the output Y overflows float64"),
        (["-x", "[[1, 2]]", "-k", "[[1]]", "-o", "."], "-o .: is a folder"),
        (["-x", "[[1, 2]]", "-k", "[[1]]", "--decimals", "16"], "--decimals 16: must be between 0 and 15"),
        (["-x", json.dumps(X), "-k", json.dumps(F), "--backward", "-g", "5"], "grad-output is a single number but"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "conv", *argv)
    assert code == 2 and out == "", err
    assert message in err and err.count("\n") == 1, err


def test_files_named_like_numbers_and_complex_arrays(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("2.npy", np.array(X, dtype=float))  # a file whose name starts with a digit is still a file
    code, out, err = run(capsys, "conv", "-x", "2.npy", "-k", json.dumps(F))
    assert code == 0 and "Y₁,₁ =" in out, err
    open("bom.csv", "wb").write(b"\xef\xbb\xbf1,2\n3,4\n")  # a spreadsheet's UTF-8 CSV starts with a BOM
    open("bom.json", "wb").write(b"\xef\xbb\xbf[[1, 2], [3, 4]]")
    code, out, err = run(capsys, "conv", "-x", "bom.csv", "-k", "bom.json")
    assert code == 0 and "Y = [30]" in out, err
    np.save("c.npy", np.array([[1 + 2j, 3]]))
    code, out, err = run(capsys, "conv", "-x", "c.npy", "-k", "[[1]]")
    assert code == 2 and "input has complex numbers" in err and err.count("\n") == 1, err


@pytest.mark.skipif(__import__("shutil").which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles(tmp_path):
    import subprocess

    ws = conv_worksheet([X, X], [[F, F], [F, F]], stride=2, padding="same", bias=[1, 2], backward=True, flip=True)
    (tmp_path / "ws.tex").write_text(ws.render("latex", standalone=True), encoding="utf-8")
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "ws.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]


def test_png_with_an_extension_matplotlib_cannot_write(capsys, tmp_path):
    code, out, err = run(capsys, "conv", "-x", json.dumps(X), "-k", json.dumps(F), "--png", str(tmp_path / "w.txt"))
    assert code == 2 and "--png" in err and "Format 'txt' is not supported" in err and err.count("\n") == 1, err
