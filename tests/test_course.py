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
    """The homework's rules, written out per example with plain NumPy (no chainrule), in the same
    floating-point operations the engine performs (x Wᵀ + b with the bias kept apart, the stable
    sigmoid, softmax shifted by the max, g·η subtracted), so the two agree bit for bit."""
    Wa, ba = alpha[:, 1:].copy(), alpha[:, 0].copy()
    Wb, bb = beta[:, 1:].copy(), beta[:, 0].copy()
    params = [Wa, ba, Wb, bb]
    G = [np.zeros_like(p) for p in params]

    def sigmoid(a):
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def mean_ce(X, Y):  # the whole file at once, as the engine evaluates it
        z = sigmoid(X @ Wa.T + ba)
        b = z @ Wb.T + bb
        m = b.max(axis=1, keepdims=True)
        e = np.exp(b - m)
        total = e.sum(axis=1, keepdims=True)
        rows = np.arange(len(X))
        return float(np.sum(np.log(total[:, 0]) + m[:, 0] - b[rows, Y]) / len(X)), np.argmax(e / total, axis=1)

    lines = []
    for e in range(epochs):
        for i in np.random.RandomState(e).permutation(len(trX)) if shuffle else range(len(trX)):
            x = trX[i]
            z = sigmoid(x @ Wa.T + ba)
            b = z @ Wb.T + bb
            ex = np.exp(b - b.max())
            gb = ex / float(ex.sum())
            gb[trY[i]] -= 1.0  # ∂ℓ/∂b = ŷ − y
            gz = gb @ Wb  # ∂ℓ/∂z, before β changes
            dzda = 1.0 - z
            dzda *= z  # σ' = z(1 − z)
            ga = gz * dzda  # ∂ℓ/∂a
            grads = [ga[:, None] * x, ga, gb[:, None] * z, gb]
            for p, g, Gp in zip(params, grads, G, strict=True):
                if adagrad:  # the handout's rule: G += g², w -= η g / √(G + 1e-5)
                    Gp += g * g
                    p -= lr * g / np.sqrt(Gp + 1e-5)
                else:
                    p -= g * lr
        lines.append(("train", e + 1, mean_ce(trX, trY)[0]))
        lines.append(("validation", e + 1, mean_ce(vaX, vaY)[0]))
    preds = [mean_ce(X, Y)[1] for X, Y in ((trX, trY), (vaX, vaY))]
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
        assert float(m[3]) == v  # the same operations: bit for bit
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
    assert got == [v for *_, v in want_lines]  # bit for bit


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
    """--no-shuffle, the handout's Adagrad and --classes against the NumPy loop of the stated rules, bit
    for bit: the loop performs the engine's floating-point operations in the engine's order."""
    tmp, (trX, trY, vaX, vaY) = course_files
    D, lr = 3, 0.1
    train_labels, val_labels, metrics = run_course(tmp, 3, D, 1, lr, *flags)
    want_lines, want_preds, want_err = reference(
        trX, trY, vaX, vaY, 3, D, lr, *_init(D, K), shuffle=shuffle, adagrad=adagrad
    )
    got = [float(r.rsplit(" ", 1)[1]) for r in metrics.splitlines()]
    assert got[:-2] == [v for *_, v in want_lines]
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
