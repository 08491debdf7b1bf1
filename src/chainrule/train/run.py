"""A training run from settings: data → scaling → network → optimiser → epochs → files in --out.

Everything that can be wrong with the input (data files, flags, the model spec, an existing --out)
is checked before anything is written, so a bad invocation never damages an earlier run's files.
This file is the epoch driver; the settings are resolved in ``settings``, the inputs built in ``prepare``,
the run folder checked in ``run_folder``, and the epoch lines and the summary written by ``report``.
"""

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.core import threads
from chainrule.errors import ChainruleError
from chainrule.train import checkpoint as ckpt
from chainrule.train import resume_checks
from chainrule.train.early_stop import EarlyStopping
from chainrule.train.interrupt import StopFlag, pause_hook
from chainrule.train.loop import Diverged, check_growth, epoch_order, run_epoch
from chainrule.train.metrics import evaluate, write_metrics
from chainrule.train.prepare import prepare, targets
from chainrule.train.progress import Progress
from chainrule.train.report import epoch_line, finish, model_name, regression_columns
from chainrule.train.run_folder import OUTPUTS, check_out_dir, what_is_kept
from chainrule.train.schedule import make_scheduler, step_scheduler


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
        f"training {model_name(s)} "
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
    with StopFlag() as stop, threads.using(int(s["threads"])):
        if resume is None:
            with np.errstate(over="ignore", invalid="ignore"):
                start_loss = evaluate(net, loss, p.train.X, targets(p.train), s["task"]).loss
        for e in range(epoch0, epochs):
            if es is not None and es.stopped:  # a resumed run that had already stopped: only finish it
                break
            state = rng.bit_generator.state
            order = epoch_order(rng, n, bool(s["shuffle"]))
            start = step0 if e == epoch0 else 0
            update = pause_hook(stop, progress.start(e + 1, epochs, steps, start), e + 1)
            t0 = time.perf_counter()
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
                    done = run_epoch(net, loss, opt, p.train.X, targets(p.train), order, bs, e, start, stop, update)
            except Diverged as err:
                raise ChainruleError(str(err) + what_is_kept(out, e)) from None
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
                tr = evaluate(net, loss, p.train.X, targets(p.train), s["task"], target=p.target)
                va = (
                    evaluate(net, loss, p.val.X, targets(p.val), s["task"], target=p.target)
                    if p.val is not None
                    else None
                )
            bad = [v for v in (tr.loss, tr.error, *((va.loss, va.error) if va else ())) if not np.isfinite(v)]
            if bad:
                raise ChainruleError(
                    f"training diverged: the loss over the data is {bad[0]} at the end of epoch "
                    f"{e + 1}; try a smaller --lr" + what_is_kept(out, e)
                )
            try:
                before = [] if start_loss is None else [start_loss]
                check_growth([*before, *(h["train_loss"] for h in history), tr.loss], e + 1)
            except Diverged as err:  # raised before this epoch's checkpoint replaces the last good one
                raise ChainruleError(str(err) + what_is_kept(out, e)) from None
            history.append(
                {
                    "epoch": e + 1,
                    "train_loss": tr.loss,
                    "train_error": tr.error,
                    "val_loss": va.loss if va else None,
                    "val_error": va.error if va else None,
                    **regression_columns(tr, va),
                    "seconds": seconds,
                }
            )
            progress.line(epoch_line(history[-1], epochs, s["task"]))
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
    finish(p, history, out, last, kept)
    return 0
