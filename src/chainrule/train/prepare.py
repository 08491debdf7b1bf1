"""A run's inputs, all checked before anything is written: data, scaling, network, loss, optimiser."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import numpy as np

from chainrule.data import Dataset, Scaler, load_data, load_digits, parse_shape, ready, train_validation_split
from chainrule.errors import ChainruleError
from chainrule.nn.containers import Sequential
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.losses import LOSSES, CrossEntropyLoss, Loss, NLLLoss, SquaredError
from chainrule.nn.module import Parameter, check_dtype
from chainrule.optim import OPTIMIZERS, Optimizer
from chainrule.train import checkpoint as ckpt
from chainrule.train import preflight, resume_checks
from chainrule.train.models import build_model, parse_hidden
from chainrule.train.settings import resolve


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
    return 1 if targets(train).ndim == 1 else int(np.prod(targets(train).shape[1:]))


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
        target = Scaler.fit(s["target_scaling"], targets(train)) if s["task"] == "regression" else None
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


def targets(ds: Dataset) -> np.ndarray:
    """The labels or targets of a training or validation set (always loaded labelled)."""
    assert ds.y is not None
    return ds.y
