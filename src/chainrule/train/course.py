"""The course homework's neural network, with its exact seeding and output files.

One hidden sigmoid layer of D units, a softmax over K classes (K = largest label in either file + 1,
or ``--classes K``), cross-entropy, SGD one example at a time, float64. Rules (they fix every bit of the
result):

- epoch e (0-based) visits the training examples in ``numpy.random.RandomState(e).permutation(N)``
  (in file order with ``--no-shuffle``);
- ``--optimizer sgd`` (default): w ← w − η g; ``--optimizer adagrad``, the handout's rule (not
  PyTorch's): G ← G + g² (elementwise, G starting at 0), then w ← w − η g / √(G + ε), ε = 1e-5;
- INIT_FLAG 2: every parameter is 0;
- INIT_FLAG 1: each folded matrix (rows × (cols + 1), column 0 the bias) is drawn
  ``RandomState(rows·(cols+1)).uniform(-0.1, 0.1, (rows, cols+1))``, then its bias column set to 0:
  α is D × (M+1) from RandomState(D·(M+1)), β is K × (D+1) from RandomState(K·(D+1));
- after epoch E (1-based), the metrics file gets ``epoch=E crossentropy(train): V`` and
  ``epoch=E crossentropy(validation): V``, the mean cross-entropy with that epoch's final weights;
  at the end ``error(train): V`` and ``error(validation): V``; every V is ``repr(float)``;
- the label files get one predicted label (arg-max of ŷ, the first on ties) per line.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainrule.data.csv import load_csv
from chainrule.data.dataset import REGRESSION_HINT
from chainrule.errors import ChainruleError
from chainrule.files import atomic_write_bytes, check_writable
from chainrule.nn.activations import Sigmoid
from chainrule.nn.containers import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.losses import CrossEntropyLoss
from chainrule.optim import SGD, Optimizer
from chainrule.train.loop import run_epoch
from chainrule.train.preflight import check_mlp


def course_init(rows: int, cols: int, flag: int) -> np.ndarray:
    """A folded matrix rows × (cols + 1) by the course's INIT_FLAG (1: seeded uniform, 2: zeros)."""
    if flag == 2:
        return np.zeros((rows, cols + 1))
    m = np.random.RandomState(rows * (cols + 1)).uniform(-0.1, 0.1, (rows, cols + 1))
    m[:, 0] = 0.0
    return m


COURSE_EPS = 1e-5
OPTIMIZERS = ("sgd", "adagrad")


class CourseAdagrad(Optimizer):
    """The handout's Adagrad: G ← G + g²;  w ← w − η g / √(G + ε), ε = 1e-5 inside the root
    (PyTorch's Adagrad adds ε outside it: optim.Adagrad)."""

    def __init__(self, params, lr: float):
        super().__init__(params, lr)
        self.G = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        for p, G in zip(self.params, self.G, strict=True):
            g = p.grad
            G += g * g
            p.data -= self.lr * g / np.sqrt(G + COURSE_EPS)
        self.steps += 1


@dataclass
class CourseStep:
    """One SGD step as the engine took it (for ``--trace``): folded α and β before and after."""

    epoch: int  # 1-based
    step: int  # 1-based within the epoch
    example: int  # 0-based row of the training file
    before: list[np.ndarray]  # [α, β] folded, before the step
    after: list[np.ndarray]  # [α, β] after it
    G: list[np.ndarray] | None = None  # Adagrad's running sums of squared gradients after the step


@dataclass
class CourseResult:
    net: Sequential
    metrics: list[str]  # the metrics file's lines
    train_pred: np.ndarray
    val_pred: np.ndarray
    steps: list[CourseStep] = field(default_factory=list)  # the first ``trace_steps`` steps


def course_network(M: int, D: int, K: int, flag: int) -> Sequential:
    """x (M,) → Linear α (D × (M+1)) → sigmoid → Linear β (K × (D+1)) → logits (softmax is in the loss)."""
    alpha, beta = Linear.from_folded(course_init(D, M, flag)), Linear.from_folded(course_init(K, D, flag))
    return Sequential(alpha, Sigmoid(), beta)


def mean_cross_entropy(
    net: Sequential, loss: CrossEntropyLoss, X: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over all of (X, y) and the predicted labels (arg-max of softmax)."""
    value = loss.forward(net.forward(X), y)
    return value, np.argmax(loss.probs, axis=1)


def train_course(
    train_X,
    train_y,
    val_X,
    val_y,
    epochs: int,
    hidden: int,
    init_flag: int,
    lr: float,
    shuffle: bool = True,
    optimizer: str = "sgd",
    classes: int | None = None,
    trace_steps: int = 0,
) -> CourseResult:
    """X : (N, M) float64, y : (N,) int labels. Runs the homework's training and returns its outputs
    (with the first ``trace_steps`` steps' weights before and after each step, for ``--trace``)."""
    K = int(max(train_y.max(), val_y.max())) + 1 if classes is None else classes
    net = course_network(train_X.shape[1], hidden, K, init_flag)
    loss = CrossEntropyLoss()
    opt = CourseAdagrad(net.parameters(), lr) if optimizer == "adagrad" else SGD(net.parameters(), lr)
    lines: list[str] = []
    steps: list[CourseStep] = []
    linears = [net.layers[0], net.layers[2]]

    def folded() -> list[np.ndarray]:
        return [lin.folded for lin in linears]  # copies

    for e in range(epochs):
        order = np.random.RandomState(e).permutation(len(train_X)) if shuffle else np.arange(len(train_X))
        before = folded() if len(steps) < trace_steps else []

        def record(done: int, e=e, order=order) -> None:
            nonlocal before
            if len(steps) < trace_steps:
                G = _folded_sums(opt.G) if isinstance(opt, CourseAdagrad) else None
                steps.append(CourseStep(e + 1, done, int(order[done - 1]), before, folded(), G))
                before = folded()

        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported by run_epoch
            run_epoch(
                net, loss, opt, train_X, train_y, order, 1, e, progress=record if len(steps) < trace_steps else None
            )
        tr, train_pred = mean_cross_entropy(net, loss, train_X, train_y)
        va, val_pred = mean_cross_entropy(net, loss, val_X, val_y)
        lines += [f"epoch={e + 1} crossentropy(train): {tr!r}", f"epoch={e + 1} crossentropy(validation): {va!r}"]
    if epochs < 1:  # no epoch evaluated the (untrained) weights; the last epoch's predictions serve otherwise
        _, train_pred = mean_cross_entropy(net, loss, train_X, train_y)
        _, val_pred = mean_cross_entropy(net, loss, val_X, val_y)
    lines += [
        f"error(train): {float(np.mean(train_pred != train_y))!r}",
        f"error(validation): {float(np.mean(val_pred != val_y))!r}",
    ]
    return CourseResult(net, lines, train_pred, val_pred, steps)


def _folded_sums(G: list[np.ndarray]) -> list[np.ndarray]:
    """Adagrad's sums, kept in parameter order (α.weight, α.bias, β.weight, β.bias), as folded matrices."""
    return [np.concatenate([G[1][:, None], G[0]], axis=1), np.concatenate([G[3][:, None], G[2]], axis=1)]


def run_course(
    train_csv,
    val_csv,
    train_out,
    val_out,
    metrics_out,
    epochs,
    hidden,
    init_flag,
    lr,
    shuffle: bool = True,
    optimizer: str = "sgd",
    classes: int | None = None,
    trace_steps: int = 0,
) -> CourseResult:
    """The nine-argument homework command: read both CSVs, train, write the three output files."""
    if optimizer not in OPTIMIZERS:
        raise ChainruleError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if classes is not None and classes < 1:
        raise ChainruleError(f"--classes must be ≥ 1, got {classes}")
    if epochs < 1:
        raise ChainruleError(f"NUM_EPOCH must be ≥ 1, got {epochs}")
    if hidden < 1:
        raise ChainruleError(f"HIDDEN_UNITS must be ≥ 1, got {hidden}")
    if init_flag not in (1, 2):
        raise ChainruleError(f"INIT_FLAG must be 1 (random uniform ±0.1) or 2 (zeros), got {init_flag}")
    if not 0 < lr < float("inf"):
        raise ChainruleError(f"LEARNING_RATE must be a finite number > 0, got {lr}")
    _check_outputs((train_csv, val_csv), (train_out, val_out, metrics_out))
    try:
        tr, va = load_csv(train_csv), load_csv(val_csv)
    except ChainruleError as e:  # the homework has no --task flag to suggest
        raise ChainruleError(str(e).replace(REGRESSION_HINT, "")) from None
    if tr.num_features != va.num_features:
        raise ChainruleError(
            f"{val_csv}: {va.num_features} features per line, but {train_csv} has "
            f"{tr.num_features}; both files need the same columns"
        )
    if classes is not None:
        for path, data in ((train_csv, tr), (val_csv, va)):
            if int(data.y.max()) >= classes:
                raise ChainruleError(
                    f"{path}: label {int(data.y.max())} does not fit --classes {classes} "
                    f"(labels must be 0 … {classes - 1})"
                )
    K = int(max(tr.y.max(), va.y.max())) + 1 if classes is None else classes
    # each epoch evaluates every example at once (mean_cross_entropy), so its rows count
    check_mlp(tr.num_features, [hidden], K, 8, f"HIDDEN_UNITS {hidden}", max(len(tr), len(va)))
    res = train_course(tr.X, tr.y, va.X, va.y, epochs, hidden, init_flag, lr, shuffle, optimizer, classes, trace_steps)
    atomic_write_bytes(train_out, "".join(f"{v}\n" for v in res.train_pred).encode())
    atomic_write_bytes(val_out, "".join(f"{v}\n" for v in res.val_pred).encode())
    atomic_write_bytes(metrics_out, ("\n".join(res.metrics) + "\n").encode())
    return res


def _check_outputs(inputs, outputs) -> None:
    """Before training: every output can be written, and none of them is an input file or another output
    (arguments given in the wrong order must not overwrite the data)."""
    names = ("TRAIN_OUT", "VALIDATION_OUT", "METRICS_OUT")
    # realpath, not Path.resolve(): a loop of symbolic links is reported when the file is read, not here
    seen = {Path(os.path.realpath(p)): what for p, what in zip(inputs, ("TRAIN_CSV", "VALIDATION_CSV"), strict=True)}
    for path, name in zip(outputs, names, strict=True):
        check_writable(path)
        key = Path(os.path.realpath(path))
        if key in seen:
            raise ChainruleError(
                f"{name} {path} is also {seen[key]}; writing it would overwrite that file "
                "(are the arguments in the right order?)"
            )
        seen[key] = name
