"""Issue 9's rough edges in the training log: a diverging run stops (the loss growing by orders of
magnitude, not only NaN) and keeps the last good checkpoint; counts with thousands separators; the
learning-curves picture labelled as the console prints; CSV files separated by semicolons or tabs."""

import re

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.train.loop import GROWTH, Diverged, check_growth


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_growth_rule():
    check_growth([1.0], 1)  # one epoch: nothing to compare with
    check_growth([1.0, 0.5, 0.5 * GROWTH], 3)  # exactly GROWTH × the lowest is still allowed
    with pytest.raises(Diverged, match=r"grew from 0\.5 to 5001 at the end of epoch 3 .*smaller --lr"):
        check_growth([1.0, 0.5, 0.5 * GROWTH + 1], 3)


def test_a_run_whose_loss_grows_by_orders_of_magnitude_stops_and_keeps_the_last_good_checkpoint(capsys, tmp_path):
    from chainrule.train.checkpoint import load_checkpoint

    p = tmp_path / "r.csv"
    # ŷ = w·1 + b with lr 1.2: the error grows ×1.4 a step, the loss ×14.8 an epoch (4 steps), finite;
    # from 0.5 before training it passes 10,000 × 0.5 at the end of epoch 4
    p.write_text("1,1\n" * 4)
    out = tmp_path / "o"
    code, stdout, err = cli(
        capsys,
        *("train", "--train", p, "--task", "regression", "--no-target-scaling", "--hidden", "none"),
        *("--scale", "none", "--momentum", "0", "--lr", "1.2", "--batch-size", "1", "--no-shuffle"),
        *("--val-split", "0", "--epochs", "20", "--init", "zeros", "--out", out, "--progress", "lines"),
    )
    assert code == 2 and err.count("\n") == 1 and "Warning" not in err, err
    assert "training diverged: the training loss grew from 0.5 to 2.372e+04 at the end of epoch 4" in err
    assert "try a smaller --lr" in err and f"the last good checkpoint (end of epoch 3) is kept in {out}" in err
    assert "epoch 3/20" in stdout and "epoch 4/20" not in stdout
    ck = load_checkpoint(out)
    assert (ck.epoch, ck.step) == (3, 0) and len(ck.history) == 3 and ck.start_loss == 0.5
    assert all(np.isfinite(p.data).all() for p in ck.model.parameters())
    assert not (out / "model.safetensors").exists()  # no model file from the diverged weights


def test_a_first_epoch_that_diverges_saves_nothing(capsys, tmp_path):
    """Judged against the loss before training: epoch 1's 10⁵-fold growth is not kept as a 'good' checkpoint."""
    p = tmp_path / "r.csv"
    p.write_text("1,1\n" * 4)  # lr 3: the error ×5 a step, the loss ×390,625 in epoch 1
    out = tmp_path / "o"
    code, _, err = cli(
        capsys,
        *("train", "--train", p, "--task", "regression", "--no-target-scaling", "--hidden", "none"),
        *("--scale", "none", "--momentum", "0", "--lr", "3", "--batch-size", "1", "--no-shuffle"),
        *("--val-split", "0", "--init", "zeros", "--out", out, "--progress", "lines"),
    )
    assert code == 2 and "grew from 0.5 to 1.953e+05 at the end of epoch 1" in err
    assert "no epoch ended well, so nothing was saved" in err and not (out / "checkpoint.safetensors").exists()


def test_the_training_log_has_thousands_separators(capsys):
    code, out, _ = cli(capsys, "train", "--epochs", "1", "--progress", "lines")
    assert code == 0
    assert "(9,610 parameters)" in out and "1,438 training / 359 validation examples" in out
    speed = re.search(r"\(([\d,]+) examples/s\)", out).group(1)
    assert int(speed.replace(",", "")) < 1000 or "," in speed


def test_learning_curves_are_labelled_as_the_console_prints():
    import matplotlib.pyplot as plt

    from chainrule.train.plots import learning_curves_figure

    history = [
        {"epoch": 1, "train_loss": 0.5, "train_error": 0.1, "val_loss": 0.6, "val_error": 0.125},
        {"epoch": 2, "train_loss": 0.25, "train_error": 0.05, "val_loss": 0.4, "val_error": 0.0625},
    ]
    fig = learning_curves_figure(history, "learning curves: mlp on digits (bundled)", "cross-entropy")
    loss_ax, err_ax = fig.axes
    assert fig._suptitle.get_text() == "learning curves: mlp on digits (bundled)"
    assert loss_ax.get_ylabel() == "cross-entropy loss" and err_ax.get_ylabel() == "error (%)"
    assert [list(line.get_ydata()) for line in err_ax.get_lines()] == [[10.0, 5.0], [12.5, 6.25]]
    plt.close(fig)
    fig = learning_curves_figure(history, "", "squared", "regression")
    assert fig.axes[1].get_ylabel() == "MSE (targets' units)" and "squared-error" in fig.axes[0].get_ylabel()
    assert list(fig.axes[1].get_lines()[0].get_ydata()) == [0.1, 0.05]
    plt.close(fig)


def test_a_run_writes_a_titled_picture(capsys, tmp_path):
    code, _, _ = cli(capsys, "train", "--epochs", "1", "--hidden", "4", "--out", tmp_path / "o", "--progress", "lines")
    assert code == 0 and (tmp_path / "o" / "learning-curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_separated_by_semicolons_or_tabs_is_read(capsys, tmp_path, sep):
    from chainrule.data import load_data

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    p = tmp_path / "d.csv"
    lines = [sep.join(["label", "a", "b", "c"])] + [
        sep.join([str(v) for v in (yi, *x)]) for yi, x in zip(y, X, strict=True)
    ]
    p.write_text("\n".join(lines) + "\n")
    ds = load_data(p)
    np.testing.assert_array_equal(ds.X, X)  # repr round-trips: the same numbers
    np.testing.assert_array_equal(ds.y, y)
    code, out, err = cli(capsys, "train", "--train", p, "--epochs", "1", "--hidden", "4", "--progress", "lines")
    assert code == 0, err
    assert "16 training / 4 validation examples" in out


def test_semicolon_csv_with_decimal_commas_is_refused_naming_them(capsys, tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("label;a;b\n1;2,5;3\n0;1,5;2\n")
    code, _, err = cli(capsys, "train", "--train", p, "--epochs", "1")
    assert code == 2 and err.count("\n") == 1
    assert f"{p}: line 2, column 2: '2,5' is not a number (a decimal comma? write numbers with '.')" in err
