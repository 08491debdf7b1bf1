"""One LeNet-5 epoch on 28×28 images (MNIST-shaped random data, batch 64, float32): chainrule vs PyTorch.

    python benchmarks/lenet.py [--examples 1024] [--rounds 3]

LeNet-5 as PyTorch tutorials write it for MNIST: conv 5×5 (6, pad 2) → ReLU → maxpool 2 → conv 5×5 (16)
→ ReLU → maxpool 2 → flatten → linear 120 → ReLU → linear 84 → ReLU → linear 10, cross-entropy, plain
SGD. The data are generated here (normal pixels, uniform labels): speed does not depend on them.
chainrule runs ``chainrule train``'s loop (``run_epoch``) and a PyTorch-style loop through the public API
(zero_grad, forward, loss, backward, step) at 1 and 2 threads (``chainrule.set_num_threads``); PyTorch
at 1 and 2 threads. The engines alternate within each round; medians and spreads (min–max) are printed,
as samples/s, with each ratio taken per round.
"""

import argparse
import os
import statistics
import time

import numpy as np

LR = 0.01


def lenet(rng):
    import chainrule as cr

    f32 = np.float32
    return cr.Sequential(
        cr.Conv2d(1, 6, 5, padding=2, dtype=f32, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Conv2d(6, 16, 5, dtype=f32, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Flatten(),
        cr.Linear(16 * 5 * 5, 120, dtype=f32, rng=rng),
        cr.ReLU(),
        cr.Linear(120, 84, dtype=f32, rng=rng),
        cr.ReLU(),
        cr.Linear(84, 10, dtype=f32, rng=rng),
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    from threads_setup import use_threads

    use_threads(1)  # as benchmarks/conv.py explains
    import torch

    import chainrule as cr
    from chainrule.interop.torch import to_torch
    from chainrule.train.loop import run_epoch

    rng = np.random.default_rng(0)
    n, bs = args.examples, args.batch_size
    X = rng.standard_normal((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    net = lenet(rng)
    tnet = to_torch(net)
    loss, opt = cr.CrossEntropyLoss(), cr.SGD(net.parameters(), LR)
    topt = torch.optim.SGD(tnet.parameters(), lr=LR)

    def internal(threads):
        def run(order):
            cr.set_num_threads(threads)
            run_epoch(net, loss, opt, X, y, order, bs, 0)

        return run

    def public(threads):
        def run(order):
            cr.set_num_threads(threads)
            for s in range(0, n, bs):
                idx = order[s : s + bs]
                opt.zero_grad()
                loss(net(X[idx]), y[idx])
                net.backward(loss.backward())
                opt.step()

        return run

    def torch_with(threads):
        def run(order):
            torch.set_num_threads(threads)
            for s in range(0, n, bs):
                idx = torch.from_numpy(order[s : s + bs])
                topt.zero_grad()
                torch.nn.functional.cross_entropy(tnet(Xt[idx]), yt[idx]).backward()
                topt.step()

        return run

    cols = {
        "torch 1T": torch_with(1),
        "train loop 1T": internal(1),
        "public loop 1T": public(1),
        "torch 2T": torch_with(2),
        "train loop 2T": internal(2),
        "public loop 2T": public(2),
    }
    load0 = os.getloadavg()[0]
    rates: dict[str, list[float]] = {k: [] for k in cols}
    for _ in range(args.rounds):
        order = rng.permutation(n)
        for k, fn in cols.items():
            t = time.perf_counter()
            fn(order)
            rates[k].append(n / (time.perf_counter() - t))
    cr.set_num_threads(2)
    print(
        f"LeNet-5, one epoch of {n} random 28×28 images, batch {bs}, float32, plain SGD; torch {torch.__version__}; "
        f"{args.rounds} rounds; load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after"
    )

    def spread(v):
        fmt = ",.0f" if max(v) > 20 else ".2f"
        return f"{statistics.median(v):{fmt}} ({min(v):{fmt}}–{max(v):{fmt}})"

    print(f"{'':<16} {'samples/s':>28} {'÷ PyTorch, same threads':>28}")
    for k, v in rates.items():
        ref = rates["torch " + k[-2:]]
        ratio = "" if k.startswith("torch") else spread([a / b for a, b in zip(v, ref, strict=True)])
        print(f"{k:<16} {spread(v):>28} {ratio:>28}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
