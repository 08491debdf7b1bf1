"""One epoch of the CNN preset (``chainrule train --model cnn``) on digits, chainrule vs PyTorch.

    python benchmarks/cnn.py [--batch-size 32] [--repeats 2] [--threads 1]

Same network (built by the preset, copied into PyTorch), same weights, same shuffled data, plain SGD;
best of ``--repeats`` epochs, printed as samples/s and the ratio. chainrule runs the loop that
``chainrule train`` runs.
"""

import argparse
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
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for NumPy and PyTorch alike")
    ap.add_argument(
        "--torch-threads",
        type=int,
        help="PyTorch's threads, if not --threads (e.g. its own default, "
        "the machine's core count, to compare each as shipped)",
    )
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    from chainrule.interop.torch import to_torch

    torch.set_num_threads(args.torch_threads or args.threads)
    threadpool_limits(limits=args.threads, user_api="blas")
    tr, _ = train_validation_split(load_digits(), 0.2, 0)
    X = np.ascontiguousarray(Scaler.fit("standard", tr.X).transform(tr.X))  # (1438, 1, 8, 8)
    y, n = tr.y, len(tr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)
    print(
        f"CNN preset on digits (1×8×8), one epoch of {n}, plain SGD, float64, best of {args.repeats}; "
        f"torch {torch.__version__}; BLAS threads: NumPy {args.threads}, PyTorch {torch.get_num_threads()}"
    )
    print(f"{'batch':>5}  {'chainrule':>10}  {'PyTorch':>10}  {'ratio':>6}   (samples/s)")
    for bs in args.batch_size:
        net = cnn((1, 8, 8), 10, np.float64, np.random.default_rng(1))
        tnet = to_torch(net)
        loss, opt = CrossEntropyLoss(), SGD(net.parameters(), LR)
        topt = torch.optim.SGD(tnet.parameters(), lr=LR)
        best_c = best_t = np.inf
        for _ in range(args.repeats):
            order = rng.permutation(n)
            t = time.perf_counter()
            run_epoch(net, loss, opt, X, y, order, bs, 0)
            best_c = min(best_c, time.perf_counter() - t)
            t = time.perf_counter()
            for s in range(0, n, bs):
                idx = torch.from_numpy(order[s : s + bs])
                topt.zero_grad()
                torch.nn.functional.cross_entropy(tnet(Xt[idx]), yt[idx]).backward()
                topt.step()
            best_t = min(best_t, time.perf_counter() - t)
        print(f"{bs:>5}  {n / best_c:>10,.0f}  {n / best_t:>10,.0f}  {best_t / best_c:>5.2f}×")


if __name__ == "__main__":
    main()
