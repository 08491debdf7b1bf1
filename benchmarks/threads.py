"""The measurements behind the thread policy (core/threads.py's constants, docs/performance.md).

    python benchmarks/threads.py [--rounds 5]

1. the hand-off: submitting a no-op to a pool thread and waiting for it;
2. Conv2d's flat path, forward and backward, in the calling thread vs split over 2 threads, by work
   (multiply-adds per call): where the split starts to pay (CONV_FORWARD_SPLIT, CONV_BACKWARD_SPLIT);
3. Linear-shaped GEMMs (n×k by k×m) on one BLAS thread vs split over 2 of chainrule's threads vs
   OpenBLAS's own 2 threads, and whether each gives the 1-thread bytes;
4. OpenBLAS's spin: the CPU its idle threads burn in the 0.3 s after one 2-thread GEMM (with the count
   left at 2, and lowered to 1 right after);
5. what it does to PyTorch (2 threads, Conv2d 16→32 @ 14² fwd+bwd): before chainrule ran, right after
   chainrule's split convolutions, right after one 2-thread OpenBLAS GEMM.
Wall time, min over many calls, the variants alternating round by round; load averages printed.
"""

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

CONVS = [(32, 1, 16, 8), (32, 16, 32, 4), (4, 16, 32, 14), (8, 16, 32, 14), (16, 16, 32, 14), (64, 1, 8, 28)]
GEMMS = [(64, 64, 128), (64, 400, 120), (128, 256, 256), (64, 512, 512), (256, 512, 512), (512, 512, 512)]


def best(fn, calls: int) -> float:
    """µs: the fastest of ``calls`` calls."""
    b = float("inf")
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t)
    return b * 1e6


def rounds(variants: dict, n: int, calls: int) -> dict:
    out: dict = {}
    for _ in range(n):
        for k, fn in variants.items():
            out[k] = min(out.get(k, float("inf")), best(fn, calls))
    return out


def convs(n_rounds: int) -> None:
    from chainrule.core import conv_flat, threads

    rng = np.random.default_rng(0)
    print("\nConv2d flat path 3×3 pad 1 (float64 8², else float32): µs, 1 thread vs split over 2")
    for N, C, O, H in CONVS:
        dt = np.float64 if H == 8 else np.float32
        fc = conv_flat.FlatConv((N, C, H, H), (O, C, 3, 3), (1, 1, 1, 1), (1, 1), dt)
        x, w = rng.standard_normal((N, C, H, H)).astype(dt), rng.standard_normal((O, C, 3, 3)).astype(dt)
        b = np.zeros(O, dt)
        dy = rng.standard_normal(fc.forward(x, w, b).shape).astype(dt)
        work = N * O * (fc.ck + 1) * fc.q
        calls = max(10, int(2e7 / work))

        def at(split, f):
            def run():
                threads.CONV_FORWARD_SPLIT = threads.CONV_BACKWARD_SPLIT = split
                f()

            return run

        old = threads.CONV_FORWARD_SPLIT, threads.CONV_BACKWARD_SPLIT
        fwd, bwd = partial(fc.forward, x, w, b), partial(fc.backward, dy, w)
        r = rounds({"f1": at(10**15, fwd), "f2": at(0, fwd), "b1": at(10**15, bwd), "b2": at(0, bwd)}, n_rounds, calls)
        threads.CONV_FORWARD_SPLIT, threads.CONV_BACKWARD_SPLIT = old
        print(
            f"  N{N} {C}→{O} @ {H}²  work {work / 1e6:6.2f} M   forward {r['f1']:7.1f} / {r['f2']:7.1f} "
            f"({r['f2'] / r['f1']:.2f})   backward {r['b1']:7.1f} / {r['b2']:7.1f} ({r['b2'] / r['b1']:.2f})"
        )


def gemms(n_rounds: int, blas_set) -> None:
    pool = ThreadPoolExecutor(1)
    rng = np.random.default_rng(0)

    def split(x, w, out):  # y = x @ wᵀ over w's rows (the output's columns)
        h = len(w) // 2
        f = pool.submit(np.matmul, x, w[h:].T, out=out[:, h:])
        np.matmul(x, w[:h].T, out=out[:, :h])
        f.result()

    def blas2(x, w, out):
        blas_set(2)
        np.matmul(x, w.T, out=out)
        blas_set(1)

    for dt in (np.float32, np.float64):
        print(f"\nGEMM n×k by k×m, {np.dtype(dt).name}: µs, 1 thread / split over 2 / OpenBLAS 2 threads (same bytes?)")
        for n, k, m in GEMMS:
            x, w = rng.standard_normal((n, k)).astype(dt), rng.standard_normal((m, k)).astype(dt)
            out, ref = np.empty((n, m), dt), x @ w.T
            same = []
            for f in (split, blas2):
                f(x, w, out)
                same.append("yes" if np.array_equal(out, ref) else "no")
            variants = {"1": partial(np.matmul, x, w.T, out=out), "s": partial(split, x, w, out)}
            variants["b"] = partial(blas2, x, w, out)
            r = rounds(variants, n_rounds, max(10, int(1e8 / (n * k * m))))
            print(
                f"  {n}×{k}×{m} ({n * k * m / 1e6:6.1f} M)  {r['1']:8.1f} / {r['s']:8.1f} ({r['s'] / r['1']:.2f}, "
                f"{same[0]}) / {r['b']:8.1f} ({r['b'] / r['1']:.2f}, {same[1]})"
            )


def others_cpu() -> float:
    """CPU seconds of every thread of this process but the calling one."""
    me, total = threading.get_native_id(), 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != me:
            fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def spin(blas_set) -> None:
    a = np.ones((1000, 1000))
    print("\nOpenBLAS's idle threads after one 2-thread 1000² GEMM: CPU s in the next 0.3 s")
    for lower in (False, True):
        burnt = []
        for _ in range(3):
            blas_set(2)
            a @ a
            if lower:
                blas_set(1)
            c = others_cpu()
            time.sleep(0.3)  # measuring what idle threads do while nothing runs (not a synchronisation)
            burnt.append(others_cpu() - c)
        blas_set(1)
        print(f"  count {'lowered to 1' if lower else 'left at 2'}: {', '.join(f'{v:.3f}' for v in burnt)}")


def torch_after(blas_set) -> None:
    import torch

    import chainrule as cr
    from chainrule.core import threads

    torch.set_num_threads(2)
    x, dy = torch.randn(64, 16, 14, 14, requires_grad=True), torch.randn(64, 32, 14, 14)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1)
    ours = cr.Conv2d(16, 32, 3, padding=1, dtype=np.float32, rng=0)
    xn, dyn = x.detach().numpy(), dy.numpy()
    a = np.ones((500, 500))

    def torch_ms() -> float:  # the median: OpenBLAS spins for ~50 ms, the min would pick a call after it
        ms = []
        for _ in range(20):
            t = time.perf_counter()
            conv(x).backward(dy)
            ms.append((time.perf_counter() - t) * 1e3)
        return statistics.median(ms)

    def ours_2t():
        with threads.using(2):
            ours.forward(xn)
            ours.backward(dyn)

    def blas_2t():
        blas_set(2)
        a @ a
        blas_set(1)

    print("\nPyTorch 2 threads, Conv2d 16→32 @ 14² fwd+bwd, ms (median of 20 calls)")
    print(f"  alone: {torch_ms():.2f}")
    for name, fn in (("after chainrule's 2-thread conv", ours_2t), ("after a 2-thread OpenBLAS GEMM", blas_2t)):
        fn()
        print(f"  {name}: {torch_ms():.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import chainrule.nn  # noqa: F401  (the engine: NumPy's BLAS on one thread)
    from chainrule.core import threads

    blas_set = threads._blas()[0][1]
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; CPUs {threads._cpus()}")
    pool = ThreadPoolExecutor(1)
    print(f"hand-off to a pool thread and back: {best(lambda: pool.submit(int).result(), 2000):.1f} µs (min)")
    convs(args.rounds)
    gemms(args.rounds, blas_set)
    spin(blas_set)
    torch_after(blas_set)
    print(f"\nload average after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
