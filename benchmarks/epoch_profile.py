"""Where a training epoch's time goes, layer by layer: the CNN preset (digits) or LeNet-5 (28×28).

    python benchmarks/epoch_profile.py [cnn|lenet] [--threads 1] [--epochs 5]

Runs ``chainrule train``'s loop (``run_epoch``) and times every layer's forward and backward, the loss,
the optimiser step and the gradient zeroing with CPU time (thread CPU time at 1 thread; process CPU
time at 2, which counts the convolution's worker thread), then prints the epoch with the least CPU time:
per phase ms and share, and the rest (the loop itself, batch indexing). CPU time is far less inflated
by a busy machine than wall time; the load average is printed with it.
"""

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np


def build(which: str):
    """(net, X, y, batch size) of the benchmark's network and data."""
    if which == "cnn":
        from chainrule.data import Scaler, load_digits, train_validation_split
        from chainrule.train.models import cnn

        tr, _ = train_validation_split(load_digits(), 0.2, 0)
        X = np.ascontiguousarray(Scaler.fit("standard", tr.X).transform(tr.X))  # (1438, 1, 8, 8)
        return cnn((1, 8, 8), 10, np.float64, np.random.default_rng(1)), X, tr.y, 32
    sys.path.insert(0, str(Path(__file__).parent))
    from lenet import lenet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1024, 1, 28, 28), dtype=np.float32)
    return lenet(rng), X, rng.integers(0, 10, 1024), 64


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", nargs="?", choices=("cnn", "lenet"), default="cnn")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # as benchmarks/conv.py explains
    import chainrule as cr
    from chainrule.train.loop import run_epoch

    cr.set_num_threads(args.threads)
    net, X, y, bs = build(args.which)
    loss, opt = cr.CrossEntropyLoss(), cr.SGD(net.parameters(), 0.01)
    clock = time.process_time if args.threads > 1 else time.thread_time
    spent: dict[str, float] = collections.defaultdict(float)

    def timed(obj, name: str, label: str) -> None:
        f = getattr(obj, name)

        def run(*a, **k):
            t = clock()
            r = f(*a, **k)
            spent[label] += clock() - t
            return r

        setattr(obj, name, run)

    for i, layer in enumerate(net.layers):
        timed(layer, "forward", f"{i:2d} {layer!r} forward")
        # a first layer trains through backward_params when it has one (no ∂ℓ/∂x); Linear's backward
        # calls its backward_params, so only the first layer's is timed, not counted twice
        name = "backward_params" if i == 0 and hasattr(layer, "backward_params") else "backward"
        timed(layer, name, f"{i:2d} {layer!r} {name}")
    timed(loss, "forward", "loss forward")
    timed(loss, "backward", "loss backward")
    timed(opt, "step", "optimizer step")
    timed(net, "defer_zero_grad", "zero gradients")
    rng = np.random.default_rng(5)
    epochs = []
    for _ in range(args.epochs):
        spent.clear()
        t = clock()
        run_epoch(net, loss, opt, X, y, rng.permutation(len(X)), bs, 0)
        epochs.append((clock() - t, dict(spent)))
    total, phases = min(epochs, key=lambda e: e[0])
    print(
        f"{args.which}: one epoch of {len(X)}, batch {bs}, {args.threads} thread(s); CPU ms (least of "
        f"{args.epochs}: {', '.join(f'{e[0] * 1e3:.0f}' for e in epochs)}); load average {os.getloadavg()[0]:.2f}"
    )
    for label, v in sorted(phases.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<72} {v * 1e3:7.2f} ms {100 * v / total:5.1f}%")
    rest = total - sum(phases.values())
    print(f"  {'the loop, batch indexing, Sequential':<72} {rest * 1e3:7.2f} ms {100 * rest / total:5.1f}%")
    print(f"  {'epoch':<72} {total * 1e3:7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
