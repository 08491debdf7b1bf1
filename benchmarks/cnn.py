"""One epoch of the CNN preset (``chainrule train --model cnn``) on digits, chainrule vs PyTorch.

    python benchmarks/cnn.py [--batch-size 32] [--repeats 2] [--threads 1]

Same network (built by the preset, copied into PyTorch), same weights, same shuffled data, plain SGD;
``--repeats`` epochs each, alternating, printed as samples/s and the ratio (median and spread).
chainrule runs the loop that ``chainrule train`` runs.
"""

import argparse
import os
import statistics
import time

import numpy as np

from chainrule.data import Scaler, load_digits, train_validation_split
from chainrule.nn import CrossEntropyLoss
from chainrule.optim import SGD
from chainrule.train.loop import run_epoch
from chainrule.train.models import cnn

LR = 0.01


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, nargs="+", default=[32])
    ap.add_argument("--repeats", type=int, default=5, help="epochs per engine (median and spread taken)")
    ap.add_argument("--threads", type=int, default=1, help="threads for chainrule (set_num_threads) and PyTorch alike")
    ap.add_argument(
        "--torch-threads",
        type=int,
        help="PyTorch's threads, if not --threads (e.g. its own default, "
        "the machine's core count, to compare each as shipped)",
    )
    args = ap.parse_args()
    import torch
    from threads_setup import use_threads

    from chainrule.interop.torch import to_torch

    use_threads(args.threads, args.torch_threads)  # NumPy's BLAS on one thread, chainrule's own threads
    tr, _ = train_validation_split(load_digits(), 0.2, 0)
    X = np.ascontiguousarray(Scaler.fit("standard", tr.X).transform(tr.X))  # (1438, 1, 8, 8)
    y, n = tr.y, len(tr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)
    print(
        f"CNN preset on digits (1×8×8), one epoch of {n}, plain SGD, float64, {args.repeats} epochs each; "
        f"torch {torch.__version__}; threads: chainrule {args.threads}, PyTorch {torch.get_num_threads()}"
    )
    print(f"{'batch':>5}  {'chainrule':>22}  {'PyTorch':>22}  {'ratio':>20}   (samples/s: median (min–max))")
    for bs in args.batch_size:
        net = cnn((1, 8, 8), 10, np.float64, np.random.default_rng(1))
        tnet = to_torch(net)
        loss, opt = CrossEntropyLoss(), SGD(net.parameters(), LR)
        topt = torch.optim.SGD(tnet.parameters(), lr=LR)
        ours, theirs = [], []
        for _ in range(args.repeats):  # the engines alternate epoch by epoch
            order = rng.permutation(n)
            t = time.perf_counter()
            run_epoch(net, loss, opt, X, y, order, bs, 0)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            for s in range(0, n, bs):
                idx = torch.from_numpy(order[s : s + bs])
                topt.zero_grad()
                torch.nn.functional.cross_entropy(tnet(Xt[idx]), yt[idx]).backward()
                topt.step()
            theirs.append(time.perf_counter() - t)

        def spread(v, fmt=",.0f"):
            return f"{statistics.median(v):{fmt}} ({min(v):{fmt}}–{max(v):{fmt}})"

        ratio = spread([b / a for a, b in zip(ours, theirs, strict=True)], ".2f")
        print(f"{bs:>5}  {spread([n / t for t in ours]):>22}  {spread([n / t for t in theirs]):>22}  {ratio:>20}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
