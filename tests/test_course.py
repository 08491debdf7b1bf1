"""Course mode: exact output format, the seeding rules, and the metrics against an independent loop."""

import re

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.train.course import course_init


def write_csv(path, X, y):
    path.write_text("".join(",".join(str(v) for v in [int(t), *row]) + "\n" for t, row in zip(y, X, strict=True)))


@pytest.fixture
def course_files(tmp_path):
    g = np.random.default_rng(7)
    trX, vaX = (g.random((30, 5)) > 0.5).astype(int), (g.random((12, 5)) > 0.5).astype(int)
    trY, vaY = g.integers(0, 3, 30), g.integers(0, 4, 12)  # K = 4 comes from the validation file
    write_csv(tmp_path / "train.csv", trX, trY)
    write_csv(tmp_path / "val.csv", vaX, vaY)
    return tmp_path, (trX.astype(float), trY, vaX.astype(float), vaY)


def run_course(tmp, epochs, hidden, flag, lr, *flags):
    args = [str(tmp / n) for n in ("train.csv", "val.csv", "train.labels", "val.labels", "metrics.txt")]
    assert main(["neuralnet", *args, str(epochs), str(hidden), str(flag), str(lr), *flags]) == 0
    return [(tmp / n).read_text() for n in ("train.labels", "val.labels", "metrics.txt")]


def reference(trX, trY, vaX, vaY, epochs, D, lr, alpha, beta, shuffle=True, adagrad=False):
    """The homework's rules, written out per example with plain NumPy (folded matrices, no chainrule)."""
    K = beta.shape[0]
    G_alpha, G_beta = np.zeros_like(alpha), np.zeros_like(beta)

    def forward(x):
        xh = np.concatenate([[1.0], x])
        z = 1.0 / (1.0 + np.exp(-(alpha @ xh)))
        zh = np.concatenate([[1.0], z])
        b = beta @ zh
        e = np.exp(b - b.max())
        return xh, z, zh, e / e.sum()

    def mean_ce(X, Y):
        return float(np.mean([-np.log(forward(x)[3][t]) for x, t in zip(X, Y, strict=True)]))

    lines = []
    for e in range(epochs):
        for i in np.random.RandomState(e).permutation(len(trX)) if shuffle else range(len(trX)):
            xh, z, zh, yh = forward(trX[i])
            gb = yh - np.eye(K)[trY[i]]  # ∂ℓ/∂b
            g_beta = np.outer(gb, zh)
            gz = beta[:, 1:].T @ gb  # ∂ℓ/∂z
            ga = gz * z * (1 - z)  # ∂ℓ/∂a
            g_alpha = np.outer(ga, xh)
            if adagrad:  # the handout's rule: G += g², w -= η g / √(G + 1e-5)
                G_alpha += g_alpha**2
                G_beta += g_beta**2
                g_alpha = g_alpha / np.sqrt(G_alpha + 1e-5)
                g_beta = g_beta / np.sqrt(G_beta + 1e-5)
            alpha -= lr * g_alpha
            beta -= lr * g_beta
        lines.append(("train", e + 1, mean_ce(trX, trY)))
        lines.append(("validation", e + 1, mean_ce(vaX, vaY)))
    preds = [np.array([int(np.argmax(forward(x)[3])) for x in X]) for X in (trX, vaX)]
    return lines, preds, [float(np.mean(p != t)) for p, t in zip(preds, (trY, vaY), strict=True)]


LINE = re.compile(r"^epoch=(\d+) crossentropy\((train|validation)\): (\S+)$")


def test_format_and_zero_init_against_independent_loop(course_files):
    tmp, (trX, trY, vaX, vaY) = course_files
    epochs, D, lr = 3, 4, 0.1
    train_labels, val_labels, metrics = run_course(tmp, epochs, D, 2, lr)
    want_lines, want_preds, want_err = reference(
        trX, trY, vaX, vaY, epochs, D, lr, np.zeros((D, 6)), np.zeros((4, D + 1))
    )
    rows = metrics.splitlines()
    assert len(rows) == 2 * epochs + 2 and metrics.endswith("\n")
    for row, (which, e, v) in zip(rows, want_lines, strict=False):
        m = LINE.match(row)
        assert m, row
        assert (int(m[1]), m[2]) == (e, which)
        assert m[3] == repr(float(m[3]))  # full precision: Python's repr
        assert float(m[3]) == pytest.approx(v, rel=1e-10, abs=1e-13)
    assert rows[-2].startswith("error(train): ") and rows[-1].startswith("error(validation): ")
    assert float(rows[-2].split(": ")[1]) == want_err[0]
    assert float(rows[-1].split(": ")[1]) == want_err[1]
    assert train_labels == "".join(f"{p}\n" for p in want_preds[0])
    assert val_labels == "".join(f"{p}\n" for p in want_preds[1])


def test_random_init_follows_the_seeding_rule(course_files):
    tmp, (trX, trY, vaX, vaY) = course_files
    D = 3
    alpha = np.random.RandomState(D * 6).uniform(-0.1, 0.1, (D, 6))
    alpha[:, 0] = 0
    beta = np.random.RandomState(4 * (D + 1)).uniform(-0.1, 0.1, (4, D + 1))
    beta[:, 0] = 0
    np.testing.assert_array_equal(course_init(D, 5, 1), alpha)
    np.testing.assert_array_equal(course_init(4, D, 1), beta)
    _, _, metrics = run_course(tmp, 2, D, 1, 0.05)
    want_lines, _, _ = reference(trX, trY, vaX, vaY, 2, D, 0.05, alpha, beta)
    got = [float(r.rsplit(" ", 1)[1]) for r in metrics.splitlines()[:4]]
    np.testing.assert_allclose(got, [v for *_, v in want_lines], rtol=1e-10)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["0", "4", "2", "0.1"], "NUM_EPOCH"),
        (["1", "4", "3", "0.1"], "INIT_FLAG"),
        (["1", "0", "2", "0.1"], "HIDDEN_UNITS"),
        (["1", "4", "2", "-1"], "LEARNING_RATE"),
    ],
)
def test_bad_arguments(course_files, capsys, args, needle):
    tmp, _ = course_files
    files = [str(tmp / n) for n in ("train.csv", "val.csv", "a", "b", "c")]
    assert main(["neuralnet", *files, *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not (tmp / "a").exists()


@pytest.mark.parametrize(
    "outputs, needle",
    [
        (["train.csv", "b", "c"], "TRAIN_OUT"),  # arguments in the wrong order: the data must survive
        (["a", "a", "c"], "VALIDATION_OUT"),
        (["a", "b", "."], "is a folder"),
        (["a", "b", "missing/c"], "no such folder"),
    ],
)
def test_bad_output_paths_are_refused_before_training(course_files, capsys, outputs, needle):
    tmp, _ = course_files
    before = (tmp / "train.csv").read_bytes()
    files = [str(tmp / n) for n in ("train.csv", "val.csv", *outputs)]
    assert main(["neuralnet", *files, "1", "4", "2", "0.1"]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "internal error" not in err, err
    assert (tmp / "train.csv").read_bytes() == before
    assert not (tmp / "a").exists()


def test_divergence_is_one_line_without_warnings(course_files, capsys):
    tmp, _ = course_files
    files = [str(tmp / n) for n in ("train.csv", "val.csv", "a", "b", "c")]
    assert main(["neuralnet", *files, "1", "4", "1", "1e308"]) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and err.count("\n") == 1 and "Warning" not in err, err


def test_label_errors_do_not_mention_flags_the_course_mode_lacks(course_files, capsys):
    tmp, _ = course_files
    (tmp / "reg.csv").write_text("0.5,1,2\n1,2,3\n")
    files = [str(tmp / n) for n in ("reg.csv", "val.csv", "a", "b", "c")]
    assert main(["neuralnet", *files, "1", "4", "2", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "line 1: label 0.5 is not an integer" in err and "--task" not in err, err


def _init(D, K, M=5):
    return course_init(D, M, 1), course_init(K, D, 1)


@pytest.mark.parametrize(
    "flags, shuffle, adagrad, K",
    [
        (["--no-shuffle"], False, False, 4),
        (["--optimizer", "adagrad"], True, True, 4),
        (["--optimizer", "adagrad", "--no-shuffle", "--classes", "10"], False, True, 10),
    ],
)
def test_handout_switches_against_independent_loop(course_files, flags, shuffle, adagrad, K):
    """--no-shuffle, the handout's Adagrad and --classes against the NumPy loop of the stated rules.
    Two implementations (NumPy's outer products vs the engine's matmuls) agree to 1e-12, not bit for bit."""
    tmp, (trX, trY, vaX, vaY) = course_files
    D, lr = 3, 0.1
    train_labels, val_labels, metrics = run_course(tmp, 3, D, 1, lr, *flags)
    want_lines, want_preds, want_err = reference(
        trX, trY, vaX, vaY, 3, D, lr, *_init(D, K), shuffle=shuffle, adagrad=adagrad
    )
    got = [float(r.rsplit(" ", 1)[1]) for r in metrics.splitlines()]
    np.testing.assert_allclose(got[:-2], [v for *_, v in want_lines], rtol=1e-12)
    assert got[-2:] == want_err
    assert train_labels == "".join(f"{p}\n" for p in want_preds[0])


def test_switches_change_the_result_and_bad_classes_is_one_line(course_files, capsys):
    tmp, _ = course_files
    plain = run_course(tmp, 2, 3, 1, 0.1)[2]
    assert run_course(tmp, 2, 3, 1, 0.1, "--no-shuffle")[2] != plain
    assert run_course(tmp, 2, 3, 1, 0.1, "--optimizer", "adagrad")[2] != plain
    args = [str(tmp / n) for n in ("train.csv", "val.csv", "train.labels", "val.labels", "metrics.txt")]
    capsys.readouterr()
    assert main(["neuralnet", *args, "1", "3", "1", "0.1", "--classes", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "val.csv" in err and "--classes 3" in err
