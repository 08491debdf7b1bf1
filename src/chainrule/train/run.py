"""A training run from settings: data → scaling → network → optimiser → epochs → files in --out.

Everything that can be wrong with the input (data files, flags, the model spec, an existing --out)
is checked before anything is written, so a bad invocation never damages an earlier run's files.
"""

import math
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from chainrule.core import threads
from chainrule.data import Dataset, Scaler, load_data, load_digits, parse_shape, ready, train_validation_split
from chainrule.errors import ChainruleError
from chainrule.nn.containers import Sequential
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.losses import LOSSES, CrossEntropyLoss, Loss, NLLLoss, SquaredError
from chainrule.nn.module import Parameter, check_dtype
from chainrule.optim import OPTIMIZERS, Optimizer
from chainrule.serialize import save_model
from chainrule.train import checkpoint as ckpt
from chainrule.train import preflight, resume_checks
from chainrule.train.early_stop import EarlyStopping, check_patience
from chainrule.train.loop import Diverged, check_growth, epoch_order, run_epoch
from chainrule.train.metrics import (
    Evaluation,
    confusion_matrix,
    evaluate,
    fmt_number,
    format_confusion,
    write_metrics,
)
from chainrule.train.models import build_model, parse_hidden
from chainrule.train.progress import Progress
from chainrule.train.schedule import check_schedule, make_scheduler, step_scheduler

DEFAULTS: dict[str, Any] = {
    "train": None,
    "train_labels": None,
    "validation": None,
    "validation_labels": None,
    "val_split": 0.2,
    "split_seed": 0,
    "image_shape": None,
    "task": "classification",
    "scale": "standard",
    "target_scaling": "standard",
    "model": "mlp",
    "hidden": "128",
    "activation": "tanh",
    "init": "default",
    "optimizer": "sgd",
    "lr": None,
    "momentum": None,
    "weight_decay": 0.0,
    "batch_size": 32,
    "epochs": 20,
    "shuffle": True,
    "seed": 0,
    "dtype": "float64",
    "threads": None,  # chainrule.get_num_threads(): the CPUs this process may run on
    "early_stop": None,
    "scheduler": None,
    "step_size": None,
    "gamma": None,
    "t_max": None,
    "eta_min": None,
    "factor": None,
    "plateau_patience": None,
    "threshold": None,
    "cooldown": None,
    "min_lr": None,
}
OUTPUTS = ("model.safetensors", ckpt.NAME, "metrics.json", "metrics.csv", "learning-curves.png")
# the CNN preset trains steadily with Adam; SGD at the MLP's rate oscillates on digits
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {"cnn": {"optimizer": "adam", "lr": 0.002, "epochs": 15}}
PRESET_DEFAULTS["cnn-bn"] = PRESET_DEFAULTS["cnn"]
# what an unset --lr / --momentum means for each optimiser (only SGD has momentum)
OPTIMIZER_DEFAULTS = {
    "sgd": {"lr": 0.05, "momentum": 0.9},
    "adagrad": {"lr": 0.05, "momentum": 0.0},
    "adam": {"lr": 1e-3, "momentum": 0.0},
    "adamw": {"lr": 1e-3, "momentum": 0.0},
    "rmsprop": {"lr": 1e-2, "momentum": 0.0},
}


@dataclass
class Prepared:
    """Everything a run needs, all checked: data (scaled, shaped, in the run's dtype), network, loss."""

    settings: dict
    train: Dataset
    val: Dataset | None
    net: Sequential
    loss: Loss
    opt: Optimizer
    rng: np.random.Generator
    extra: dict
    target: Scaler | None = None  # regression: the targets' standardisation, undone for the metrics


def resolve(settings: dict) -> dict:
    """Defaults filled in for every setting left as None; paths made absolute (so --resume works anywhere)."""
    preset = PRESET_DEFAULTS.get(settings.get("model") or DEFAULTS["model"], {})
    s: dict[str, Any] = {
        k: (settings.get(k) if settings.get(k) is not None else preset.get(k, v)) for k, v in DEFAULTS.items()
    }
    for k in ("train", "train_labels", "validation", "validation_labels"):
        if s[k] is not None:
            s[k] = os.path.abspath(s[k])  # not resolve(): a link's own name (train.csv) says the format
    if s["model"].lower().endswith(".toml"):
        s["model"] = os.path.abspath(s["model"])
    if not 0 <= float(s["val_split"]) < 1:
        raise ChainruleError(f"--val-split must be at least 0 and below 1, got {s['val_split']}")
    if int(s["seed"]) < 0:
        raise ChainruleError(f"--seed must be ≥ 0 (NumPy's seeds are non-negative), got {s['seed']}")
    if s["optimizer"] not in OPTIMIZERS:
        raise ChainruleError(f"--optimizer {s['optimizer']!r}: expected one of {', '.join(OPTIMIZERS)}")
    for k, v in OPTIMIZER_DEFAULTS[s["optimizer"]].items():
        if s[k] is None:
            s[k] = v
    if s["threads"] is None:  # recorded, so a resumed run splits its work as this one did
        s["threads"] = threads.get_num_threads()
    for k, low in (("batch_size", 1), ("epochs", 1), ("threads", 1)):
        if int(s[k]) < low:
            raise ChainruleError(f"--{k.replace('_', '-')} must be ≥ {low}, got {s[k]}")
    if not 0 < float(s["lr"]) < math.inf:
        raise ChainruleError(f"--lr must be a finite number > 0, got {s['lr']}")
    for k in ("momentum", "weight_decay"):
        if not 0 <= float(s[k]) < math.inf:
            raise ChainruleError(f"--{k.replace('_', '-')} must be a finite number ≥ 0, got {s[k]}")
    s["early_stop"] = check_patience(s["early_stop"])
    check_schedule(s)
    if s["task"] not in ("classification", "regression"):
        raise ChainruleError(f"--task {s['task']!r}: expected classification or regression")
    return s


def load_sets(s: dict) -> tuple[Dataset, Dataset | None]:
    shape = parse_shape(s["image_shape"]) if s["image_shape"] else None
    if s["train"] is None:
        if s["train_labels"] is not None:
            raise ChainruleError("--train-labels needs --train")
        data = load_digits()
        if s["task"] != "classification":
            raise ChainruleError("the bundled digits are a classification set; --task regression needs --train")
        if shape is not None:  # as for a file: the examples viewed with the given shape, or an error
            data = data.reshaped(shape)
    else:
        data = load_data(s["train"], s["task"], s["train_labels"], shape)
    if s["validation"] is not None:
        val = load_data(s["validation"], s["task"], s["validation_labels"], shape)
        if val.example_shape != data.example_shape:
            raise ChainruleError(
                f"{val.source}: examples have shape {val.example_shape}, but the training "
                f"data's have {data.example_shape}"
            )
        return data, val
    if s["validation_labels"] is not None:
        raise ChainruleError("--validation-labels needs --validation")
    if not s["val_split"]:
        return data, None
    return train_validation_split(data, float(s["val_split"]), int(s["split_seed"]))


def outputs_for(train: Dataset, val: Dataset | None) -> int:
    if train.task == "classification":
        return max(train.num_classes, val.num_classes if val is not None else 0, 2)
    return 1 if _targets(train).ndim == 1 else int(np.prod(_targets(train).shape[1:]))


def make_optimizer(s: dict, params: Iterable[Parameter]) -> Optimizer:
    name = s["optimizer"]
    kw = {"lr": float(s["lr"]), "weight_decay": float(s["weight_decay"])}
    if name in ("sgd", "rmsprop"):
        kw["momentum"] = float(s["momentum"])
    elif float(s["momentum"]):
        raise ChainruleError(f"--momentum applies to --optimizer sgd and rmsprop only, not {name}")
    return OPTIMIZERS[name](params, **kw)


def prepare(settings: dict, resume: "ckpt.Checkpoint | None" = None) -> Prepared:
    s = resolve(settings)
    dtype = check_dtype(s["dtype"])
    train, val = load_sets(s)
    outputs = outputs_for(train, val)
    rng = np.random.default_rng(int(s["seed"]))
    largest = max(len(train), len(val) if val is not None else 0)  # examples passed through at most at once
    if resume is None:
        if s["model"] == "mlp":  # refused by its flag before any weight is allocated
            preflight.check_mlp_flags(s, train.num_features, outputs, dtype.itemsize, largest)
        net, loss, want = build_model(
            s["model"], train.example_shape, outputs, parse_hidden(s["hidden"]), s["activation"], s["init"], dtype, rng
        )
        scaler = Scaler.fit(s["scale"], train.X)
        target = Scaler.fit(s["target_scaling"], _targets(train)) if s["task"] == "regression" else None
    else:
        resume_checks.check_same_data(resume, s["train"] or "digits (bundled)", train, outputs)
        net, want = cast(Sequential, resume.model), tuple(resume.extra["input_shape"])  # train saves a Sequential
        loss = LOSSES[resume.extra["loss"]](**resume.extra.get("loss_config", {}))
        scaler = resume_checks.stored_scaling(resume)
        # a run saved before targets were standardised has no stored target scaling: none
        target = resume_checks.stored_scaling(resume, "target_scaling") if "target_scaling" in resume.extra else None
    if loss is None:
        loss = CrossEntropyLoss() if s["task"] == "classification" else SquaredError()
    ends_log_softmax = len(net) > 0 and isinstance(net[-1], LogSoftmax)
    if isinstance(loss, NLLLoss) and not ends_log_softmax:
        raise ChainruleError(
            f"loss nll takes log-probabilities, but the network ends in {type(net[-1]).__name__}; "
            "end it with a logsoftmax layer, or use loss cross-entropy on the logits"
        )
    if s["task"] == "classification" and not isinstance(loss, (CrossEntropyLoss, NLLLoss)):
        raise ChainruleError(
            f"classification trains with cross-entropy (or nll after a logsoftmax layer); the model asks for "
            f"{type(loss).__name__} (use --task regression for real-valued targets)"
        )
    train = ready(train, scaler, want, dtype, target)
    val = ready(val, scaler, want, dtype, target) if val is not None else None
    _check_output_width(net, train, outputs, s["model"])
    preflight.check_network(net, want, int(s["batch_size"]), dtype.itemsize, f"--model {s['model']}", largest)
    opt = make_optimizer(s, net.parameters())
    loss_name = next(k for k, v in LOSSES.items() if type(loss) is v)
    extra = {
        "task": s["task"],
        "classes": outputs if s["task"] == "classification" else 0,
        "outputs": outputs,
        "input_shape": list(want),
        "example_shape": list(train.example_shape),
        "loss": loss_name,
        "loss_config": loss.config(),  # label_smoothing, weight, delta, pos_weight: the loss is rebuilt as trained
        "scaling": scaler.to_json(),
    }
    if target is not None:
        extra["target_scaling"] = target.to_json()
    if resume is not None:
        resume_checks.restore_optimizer(resume.path, resume.optim_state, opt)
        resume_checks.restore_generator(resume.path, resume.rng_state, rng)
    return Prepared(s, train, val, net, loss, opt, rng, extra, target)


def _check_output_width(net: Sequential, train: Dataset, outputs: int, model: str) -> None:
    try:
        out = net.output_shape(train.X.shape[1:])
    except ChainruleError as e:
        raise ChainruleError(f"{model}: the network does not take this data's examples: {e}") from None
    if out != (outputs,):
        raise ChainruleError(
            f"{model}: the network's output has shape {out} per example; this data needs {outputs} output(s)"
        )


def check_out_dir(out: Path | None, overwrite: bool) -> None:
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise ChainruleError(f"--out {out}: exists and is not a folder")
    above = next(p for p in out.absolute().parents if p.exists())  # the folder --out will be made in
    if not out.exists() and not above.is_dir():
        raise ChainruleError(f"--out {out}: cannot be made, {above} is a file, not a folder")
    for name in OUTPUTS:
        if (out / name).is_dir():
            raise ChainruleError(f"--out {out}: {name} there is a folder; a run writes a file by that name")
    if (out / ckpt.NAME).exists() and not overwrite:
        raise ChainruleError(
            f"--out {out}: already holds a run; continue it with --resume {out}, or pass --overwrite to start over"
        )
    preflight.check_out_writable(out)


TEST_PAUSE = "CHAINRULE_TEST_PAUSE_AT"


def _test_pause(stop: "_StopFlag", update: Callable[[int], None] | None, epoch: int) -> Callable[[int], None] | None:
    """Test-only hook: with ``CHAINRULE_TEST_PAUSE_AT=E:S`` the run prints a marker after step S of epoch E
    (both from 1) and waits for a signal, so interruption tests synchronise on an event, never on a sleep."""
    import os
    import sys

    at = os.environ.get(TEST_PAUSE, "")
    if not at or at.split(":")[0] != str(epoch):
        return update
    when = int(at.split(":")[1])

    def hooked(done: int) -> None:
        if update is not None:
            update(done)
        if done == when:
            print(f"test hook: paused at epoch {epoch}, step {done}", flush=True)
            while not stop():
                signal.pause()  # returns after a handler ran (SIGINT sets the stop flag); SIGKILL ends it here
            sys.stdout.flush()

    return hooked


class _StopFlag:
    """Ctrl-C sets a flag that the loop checks between steps, so a step is never cut in half."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self) -> bool:
        return self.stopped

    def __enter__(self) -> "_StopFlag":
        def handler(signum: int, frame: object) -> None:
            self.stopped = True

        try:
            self._old = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread: Ctrl-C is not ours to catch
            self._old = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def train(
    settings: dict,
    out: Path | None = None,
    resume_dir: Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> int:
    """Run (or continue) training; returns the exit status (0, or 130 after Ctrl-C)."""
    progress = progress or Progress()
    resume = None
    if resume_dir is not None:
        resume = ckpt.load_checkpoint(resume_dir)
        epochs = settings.get("epochs")
        settings = dict(resume.settings)
        settings.setdefault("target_scaling", "none")  # saved before targets were standardised
        if epochs is not None:
            settings["epochs"] = epochs
        out = resume_dir
        done = resume.epoch + (1 if resume.step else 0)  # epochs finished or begun: the weights are past them
        if int(settings["epochs"]) < done:
            where = f"begun epoch {done}" if resume.step else f"finished {done} epochs"
            raise ChainruleError(
                f"--epochs {settings['epochs']}: the run in {resume_dir} has already {where}; "
                f"--epochs can only extend it (give at least {done}, or leave it out)"
            )
    else:
        check_out_dir(out, overwrite)
    p = prepare(settings, resume)
    s, net, loss, opt, rng = p.settings, p.net, p.loss, p.opt, p.rng
    sched = make_scheduler(s, opt)
    if sched is not None and resume is not None and resume.scheduler is not None:
        # sets opt.lr for the epoch being resumed
        resume_checks.restored(
            resume.path, "learning-rate scheduler", lambda: sched.load_state_dict(resume.scheduler or {})
        )
    es = None
    if s["early_stop"] is not None:
        if p.val is None:
            raise ChainruleError(
                "--early-stop watches the validation loss; give --validation FILE or a --val-split above 0"
            )
        es = (
            resume_checks.restored(
                resume.path,
                "early-stopping",
                lambda: EarlyStopping.from_checkpoint(s["early_stop"], resume.early_stop, resume.best or {}),
            )
            if resume
            else EarlyStopping(s["early_stop"])
        )
    history = list(resume.history) if resume else []
    epoch0, step0 = (resume.epoch, resume.step) if resume else (0, 0)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ChainruleError(f"--out {out}: cannot make the folder: {err.strerror}") from None
    # --overwrite: the old run's files are removed just before this run saves its first checkpoint (so no
    # file of the old run is mistaken for this one's), not before: a run that fails or diverges before
    # then leaves the old run as it was
    stale = [out / name for name in OUTPUTS] if out is not None and resume is None else []
    n, bs, epochs = len(p.train), int(s["batch_size"]), int(s["epochs"])
    steps = -(-n // bs)
    if resume is not None:
        resume_checks.check_position(resume.path, epoch0, step0, steps, n, bs)
    where = "digits (bundled)" if s["train"] is None else s["train"]
    progress.line(
        f"training {_model_name(s)} "
        f"({net.num_parameters():,} parameters) on {where}: {n:,} training / "
        f"{len(p.val) if p.val is not None else 0:,} validation examples, {s['optimizer']} "
        f"lr {s['lr']}, batch {bs}, {epochs} epochs"
        + (f", resuming at epoch {epoch0 + 1}" + (f" step {step0 + 1}" if step0 else "") if resume else "")
    )

    def save(epoch: int, step: int, state: Mapping[str, Any]) -> None:
        while stale:
            stale.pop().unlink(missing_ok=True)
        if out is not None:
            ckpt.save_checkpoint(
                out,
                ckpt.Checkpoint(
                    net,
                    opt.state_dict(),
                    epoch,
                    step,
                    state,
                    history,
                    s,
                    p.extra,
                    es.meta() if es else None,
                    es.best_weights if es else None,
                    sched.state_dict() if sched else None,
                    examples=n,
                    start_loss=start_loss,
                ),
            )

    # the training loss before any step: a first epoch that diverges is judged against it (the
    # checkpoint keeps it, so a resumed run judges as the uninterrupted one; older ones have none)
    start_loss = resume.start_loss if resume else None
    last = None  # this session's final Evaluation of the confusion matrix's set, if an epoch ran
    with _StopFlag() as stop, threads.using(int(s["threads"])):
        if resume is None:
            with np.errstate(over="ignore", invalid="ignore"):
                start_loss = evaluate(net, loss, p.train.X, _targets(p.train), s["task"]).loss
        for e in range(epoch0, epochs):
            if es is not None and es.stopped:  # a resumed run that had already stopped: only finish it
                break
            state = rng.bit_generator.state
            order = epoch_order(rng, n, bool(s["shuffle"]))
            start = step0 if e == epoch0 else 0
            update = _test_pause(stop, progress.start(e + 1, epochs, steps, start), e + 1)
            t0 = time.perf_counter()
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
                    done = run_epoch(net, loss, opt, p.train.X, _targets(p.train), order, bs, e, start, stop, update)
            except Diverged as err:
                raise ChainruleError(str(err) + _kept(out, e)) from None
            finally:
                progress.finish()
            seconds = time.perf_counter() - t0
            if done < steps:  # Ctrl-C: save where we are, mid-epoch
                save(e, done, state)
                progress.line(
                    f"interrupted at epoch {e + 1}, step {done}"
                    + (
                        f"; continue with: chainrule train --resume {out}"
                        if out
                        else "; nothing was saved (no --out DIR)"
                    )
                )
                return 130
            with np.errstate(over="ignore", invalid="ignore"):
                tr = evaluate(net, loss, p.train.X, _targets(p.train), s["task"], target=p.target)
                va = (
                    evaluate(net, loss, p.val.X, _targets(p.val), s["task"], target=p.target)
                    if p.val is not None
                    else None
                )
            bad = [v for v in (tr.loss, tr.error, *((va.loss, va.error) if va else ())) if not np.isfinite(v)]
            if bad:
                raise ChainruleError(
                    f"training diverged: the loss over the data is {bad[0]} at the end of epoch "
                    f"{e + 1}; try a smaller --lr" + _kept(out, e)
                )
            try:
                before = [] if start_loss is None else [start_loss]
                check_growth([*before, *(h["train_loss"] for h in history), tr.loss], e + 1)
            except Diverged as err:  # raised before this epoch's checkpoint replaces the last good one
                raise ChainruleError(str(err) + _kept(out, e)) from None
            history.append(
                {
                    "epoch": e + 1,
                    "train_loss": tr.loss,
                    "train_error": tr.error,
                    "val_loss": va.loss if va else None,
                    "val_error": va.error if va else None,
                    **_regression_columns(tr, va),
                    "seconds": seconds,
                }
            )
            progress.line(_epoch_line(history[-1], epochs, s["task"]))
            if es is not None:
                assert va is not None  # early stopping was refused without validation data
                es.update(e + 1, va.loss, net)
            # once per epoch, after its steps (PyTorch's order): the next epoch's lr
            step_scheduler(sched, tr.loss, va.loss if va else None)
            save(e + 1, 0, rng.bit_generator.state)
            if out is not None:
                write_metrics(out, history)
            last = va if va is not None else tr  # the confusion matrix's set, as _finish picks it
            if es is not None and es.stopped:
                break
    kept = None
    if es is not None and history:
        progress.line(es.summary(history[-1]["epoch"]))
        es.restore(net)
        kept, last = history[es.best_epoch - 1], None  # the summary describes the kept model
    _finish(p, history, out, last, kept)
    return 0


def _targets(ds: Dataset) -> np.ndarray:
    """The labels or targets of a training or validation set (always loaded labelled)."""
    assert ds.y is not None
    return ds.y


def _model_name(s: dict) -> str:
    return s["model"] if s["model"] in ("mlp", "cnn", "cnn-bn") else Path(s["model"]).name


def _kept(out: Path | None, epoch: int) -> str:
    """What a diverged run left: the checkpoint of the end of ``epoch`` (0-based: the last good one)."""
    if out is None:
        return "; nothing was saved (no --out DIR)"
    if epoch:
        return f"; the last good checkpoint (end of epoch {epoch}) is kept in {out}"
    return "; no epoch ended well, so nothing was saved"


def _regression_columns(tr: Evaluation, va: Evaluation | None) -> dict:
    """A regression epoch's RMSE and MAE for the history (train_error / val_error hold its MSE)."""
    if tr.mae is None:
        return {}
    return {
        "train_rmse": tr.rmse,
        "train_mae": tr.mae,
        "val_rmse": va.rmse if va else None,
        "val_mae": va.mae if va else None,
    }


def _fmt_errors(h: dict, part: str, task: str) -> str:
    """``error 3.06%``, or a regression's ``MSE 3,012 RMSE 54.88 MAE 44.12`` (for part train or val)."""
    if task == "classification":
        return f"error {100 * h[f'{part}_error']:.2f}%"
    text = f"MSE {fmt_number(h[f'{part}_error'])}"
    for name in ("rmse", "mae"):
        if h.get(f"{part}_{name}") is not None:
            text += f" {name.upper()} {fmt_number(h[f'{part}_{name}'])}"
    return text


def _fmt_loss(v: float) -> str:
    return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"


def _fmt_seconds(s: float) -> str:
    """A duration with a unit that fits: ``4.0 ms``, ``1.3 s``, ``2.5 min`` (two decimals of a second hid ms)."""
    if s < 1e-3:
        return f"{s * 1e6:,.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{s / 60:,.1f} min"


def _epoch_line(h: dict, epochs: int, task: str) -> str:
    text = f"epoch {h['epoch']}/{epochs}  train loss {_fmt_loss(h['train_loss'])} {_fmt_errors(h, 'train', task)}"
    if h["val_loss"] is not None:
        text += f"  val loss {_fmt_loss(h['val_loss'])} {_fmt_errors(h, 'val', task)}"
    return text + f"  ({_fmt_seconds(h['seconds'])})"


def _finish(
    p: Prepared, history: list[dict], out: Path | None, last_eval: Evaluation | None = None, kept: dict | None = None
) -> None:
    """Save the model and print the summary; ``last_eval`` is the final epoch's Evaluation of the
    validation set (the training set when there is none), None when no epoch ran in this session;
    ``kept`` is the history entry of the epoch whose weights the network holds (early stopping's best)."""
    task = p.settings["task"]
    if out is not None:
        save_model(out / "model.safetensors", p.net, p.extra)
        from chainrule.train.plots import plot_learning_curves

        data = "digits (bundled)" if p.settings["train"] is None else Path(p.settings["train"]).name
        title = f"learning curves: {_model_name(p.settings)} on {data}"
        if p.target is not None and p.target.kind != "none":
            title += " (loss on standardised targets)"
        plot_learning_curves(history, out / "learning-curves.png", title, p.extra["loss"], task)
    last = kept or (history[-1] if history else None)
    if last is None:
        return
    per_epoch = np.mean([h["seconds"] for h in history])
    lines = [
        f"done: train {_fmt_errors(last, 'train', task)}"
        + (f", validation {_fmt_errors(last, 'val', task)}" if last["val_error"] is not None else "")
        + f"; {_fmt_seconds(per_epoch)} per epoch ({len(p.train) / per_epoch:,.0f} examples/s)"
    ]
    if task == "classification":
        ds = p.val if p.val is not None else p.train
        ev = last_eval if last_eval is not None else evaluate(p.net, p.loss, ds.X, _targets(ds), task)
        lines.append(
            f"confusion matrix ({'validation' if p.val is not None else 'training'} set; rows true, columns predicted):"
        )
        lines.append(format_confusion(confusion_matrix(_targets(ds), ev.predictions, p.extra["classes"])))
    lines.append(
        f"wrote {out}/: {', '.join(OUTPUTS)}"
        if out is not None
        else "the model was not saved (no --out); add --out DIR to save it"
    )
    print("\n".join(lines), flush=True)
