"""One epoch of the 64-128-10 tanh MLP on digits (plain SGD), chainrule vs PyTorch vs a hand-written loop.

    python benchmarks/mlp.py [--dtype float64|float32] [--repeats 5]

All three train the same network from the same weights on the same shuffled data (1,438 training
examples of digits, standardised), batch 1 and batch 64, and the median of ``--repeats`` epochs is
reported as samples/s, with the ratios per round (median and spread).
chainrule is timed through the very loop ``chainrule train`` runs (``chainrule.train.loop.run_epoch``) and
through a PyTorch-style loop written against the public API (``public_epoch``).
"""

import argparse
import os
import statistics
import time

import numpy as np

from chainrule.data import Scaler, load_digits, train_validation_split
from chainrule.nn import CrossEntropyLoss, Linear, Sequential, Tanh
from chainrule.optim import SGD
from chainrule.train.loop import run_epoch

LR = 0.01


def data(dtype):
    tr, _ = train_validation_split(load_digits(), 0.2, 0)
    X = Scaler.fit("standard", tr.X).transform(tr.X).reshape(len(tr), -1).astype(dtype)
    return np.ascontiguousarray(X), tr.y


def chainrule_epoch(net, X, y, order, bs):
    loss, opt = CrossEntropyLoss(), SGD(net.parameters(), LR)
    t = time.perf_counter()
    run_epoch(net, loss, opt, X, y, order, bs, 0)
    return time.perf_counter() - t


def public_epoch(net, X, y, order, bs):
    """A PyTorch-style loop through chainrule's public API: zero_grad, forward, loss, backward, step."""
    loss, opt = CrossEntropyLoss(), SGD(net.parameters(), LR)
    t = time.perf_counter()
    for s in range(0, len(order), bs):
        idx = order[s : s + bs]
        opt.zero_grad()
        loss(net(X[idx]), y[idx])
        net.backward(loss.backward())
        opt.step()
    return time.perf_counter() - t


def numpy_epoch(params, X, y, order, bs):
    """The minimal loop: y = tanh(x W1ᵀ + b1) W2ᵀ + b2, softmax cross-entropy, SGD; no abstractions."""
    W1, b1, W2, b2 = params
    t = time.perf_counter()
    if bs == 1:
        for i in order:
            x = X[i]
            z = np.tanh(W1 @ x + b1)
            o = W2 @ z + b2
            e = np.exp(o - o.max())
            d = e / e.sum()
            d[y[i]] -= 1.0  # ∂ℓ/∂o
            dz = (d @ W2) * (1.0 - z * z)  # ∂ℓ/∂a
            W2 -= LR * (d[:, None] * z)
            b2 -= LR * d
            W1 -= LR * (dz[:, None] * x)
            b1 -= LR * dz
    else:
        for s in range(0, len(order), bs):
            idx = order[s : s + bs]
            x, n = X[idx], len(idx)
            z = np.tanh(x @ W1.T + b1)
            o = z @ W2.T + b2
            e = np.exp(o - o.max(axis=1, keepdims=True))
            d = e / e.sum(axis=1, keepdims=True)
            d[np.arange(n), y[idx]] -= 1.0
            d /= n
            dz = (d @ W2) * (1.0 - z * z)
            W2 -= LR * (d.T @ z)
            b2 -= LR * d.sum(axis=0)
            W1 -= LR * (dz.T @ x)
            b1 -= LR * dz.sum(axis=0)
    return time.perf_counter() - t


def torch_epoch(tnet, X, y, order, bs):
    import torch

    opt = torch.optim.SGD(tnet.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    lossf = torch.nn.functional.cross_entropy
    t = time.perf_counter()
    for s in range(0, len(order), bs):
        idx = torch.from_numpy(order[s : s + bs])
        opt.zero_grad()
        loss = lossf(tnet(Xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for chainrule (set_num_threads) and PyTorch alike (default 1)",
    )
    ap.add_argument(
        "--torch-threads",
        type=int,
        help="PyTorch's threads, if not --threads (e.g. its own default, "
        "the machine's core count, to compare each as shipped)",
    )
    args = ap.parse_args()
    import torch
    from threads_setup import use_threads

    use_threads(args.threads, args.torch_threads)  # NumPy's BLAS (the NumPy loop's too) on one thread

    from chainrule.interop.torch import to_torch

    dtype = np.dtype(args.dtype)
    X, y = data(dtype)
    n = len(X)
    rng = np.random.default_rng(0)
    print(
        f"64-128-10 tanh MLP, one epoch of {n} digits, plain SGD, {args.dtype}, median of {args.repeats} epochs; "
        f"torch {torch.__version__}; threads: chainrule {args.threads}, PyTorch {torch.get_num_threads()}"
    )
    print(
        f"{'batch':>5}  {'train loop':>12}  {'public loop':>12}  {'PyTorch':>12}  {'NumPy loop':>12}  "
        f"{'train ÷ PyTorch':>18}  {'public ÷ PyTorch':>18}  {'public ÷ train':>18}   (samples/s, medians)"
    )
    for bs in (1, 64):

        def make():
            return Sequential(Linear(64, 128, dtype=dtype, rng=1), Tanh(), Linear(128, 10, dtype=dtype, rng=2))

        net, user_net = make(), make()
        tnet = to_torch(net)
        params = [
            net[0].weight.data.copy(),
            net[0].bias.data.copy(),
            net[2].weight.data.copy(),
            net[2].bias.data.copy(),
        ]
        times: dict[str, list[float]] = {"train": [], "public": [], "torch": [], "numpy": []}
        for _ in range(args.repeats):  # interleaved, so a busy moment of the machine hits all of them
            order = rng.permutation(n)
            times["train"].append(chainrule_epoch(net, X, y, order, bs))
            times["public"].append(public_epoch(user_net, X, y, order, bs))
            times["torch"].append(torch_epoch(tnet, X, y, order, bs))
            times["numpy"].append(numpy_epoch(params, X, y, order, bs))

        def ratio(a, b, times=times):  # rate of a ÷ rate of b, per round: median (min–max)
            r = [tb / ta for ta, tb in zip(times[a], times[b], strict=True)]
            return f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f})"

        rate = {k: n / statistics.median(v) for k, v in times.items()}
        print(
            f"{bs:>5}  {rate['train']:>12,.0f}  {rate['public']:>12,.0f}  {rate['torch']:>12,.0f}  "
            f"{rate['numpy']:>12,.0f}  "
            f"{ratio('train', 'torch'):>18}  {ratio('public', 'torch'):>18}  {ratio('public', 'train'):>18}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
