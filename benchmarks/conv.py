"""Conv2d speed against PyTorch, measured in the same run (float32, 3×3 kernels, padding 1, batch 64).

    .venv/bin/python benchmarks/conv.py [--rounds 9] [--block 0.05]

Two layers from the issue: 1→8 channels at 28×28 and 16→32 channels at 14×14; forward alone and
forward + backward (∂ℓ/∂x, ∂ℓ/∂W, ∂ℓ/∂b on both sides). Prints median milliseconds per call and the
speed ratio (PyTorch time / chainrule time: > 1 means chainrule is faster).

Why it is built this way: OpenBLAS threads spin ~0.1 s after a call and can slow a PyTorch call in the
same process up to 10×, so the script sleeps ~0.25 s between timed blocks and alternates the two
engines block by block; PyTorch's own times on a small machine are bimodal, so it takes the median
over many rounds. Worse, we measured here that once NumPy's OpenBLAS has run multi-threaded (or had its
thread count switched) PyTorch's fwd+bwd stays 20–30× slower for the rest of the process, pauses or
not; so NumPy's BLAS is held to one thread for the whole run (``threadpool_limits`` before anything
else). chainrule's conv runs its BLAS calls single-threaded anyway, in its own two threads; PyTorch's
OpenMP threads are not limited.
"""

import argparse
import statistics
import time

import numpy as np

CONFIGS = [  # (name, N, C_in, C_out, H, W)
    ("1→8 @ 28²", 64, 1, 8, 28, 28),
    ("16→32 @ 14²", 64, 16, 32, 14, 14),
]


def time_block(fn, seconds: float) -> float:
    """Mean seconds per call of ``fn`` over a block lasting about ``seconds`` (after one warm-up call)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        t = time.perf_counter() - t0
        if t >= seconds and n >= 3:
            return t / n


def engines(name, N, cin, cout, H, W, rng, path):
    """{(engine, pass): callable} for one configuration, both engines with the same weights."""
    import torch

    import chainrule as cr
    from chainrule.interop.torch import to_torch

    ours = cr.Conv2d(cin, cout, 3, padding=1, dtype=np.float32, rng=rng)
    if path:
        ours.path = path
    theirs = to_torch(ours)
    x = rng.standard_normal((N, cin, H, W), dtype=np.float32)
    dy = rng.standard_normal((N, cout, H, W), dtype=np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    dyt = torch.from_numpy(dy.copy())

    def ours_fwd():
        ours.forward(x)

    def ours_both():
        ours.forward(x)
        ours.backward(dy)

    def torch_fwd():
        with torch.no_grad():
            theirs(xt)

    def torch_both():
        theirs(xt).backward(dyt)

    # the two engines agree (a benchmark of a wrong answer is worthless)
    ours.zero_grad()
    y = ours.forward(x)
    dx = ours.backward(dy)
    yt = theirs(xt)
    yt.backward(dyt)
    assert np.allclose(y, yt.detach().numpy(), rtol=1e-3, atol=1e-3), f"{name}: forward differs from PyTorch"
    assert np.allclose(dx, xt.grad.numpy(), rtol=1e-3, atol=1e-3), f"{name}: ∂ℓ/∂x differs from PyTorch"
    assert np.allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-3, atol=1e-2), f"{name}: ∂ℓ/∂W"
    return {
        ("torch", "fwd"): torch_fwd,
        ("ours", "fwd"): ours_fwd,
        ("torch", "fwd+bwd"): torch_both,
        ("ours", "fwd+bwd"): ours_both,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9, help="rounds of alternating blocks (median taken)")
    ap.add_argument("--block", type=float, default=0.05, help="seconds per timed block")
    ap.add_argument("--pause", type=float, default=0.25, help="seconds of sleep before each block")
    ap.add_argument("--path", default=None, help="force chainrule's conv path (e.g. 'im2col' or 'flat')")
    ap.add_argument(
        "--torch-threads", type=int, default=None, help="torch.set_num_threads(N) (default: PyTorch's own choice)"
    )
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # see the module docstring: keeps PyTorch's times honest
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    fns = {c[0]: engines(*c, rng, args.path) for c in CONFIGS}
    times: dict = {}
    for _ in range(args.rounds):
        for name, table in fns.items():
            for pass_ in ("fwd", "fwd+bwd"):
                for engine in ("torch", "ours"):  # alternate block by block
                    time.sleep(args.pause)
                    times.setdefault((name, pass_, engine), []).append(time_block(table[engine, pass_], args.block))

    print(
        f"Conv2d 3×3, padding 1, batch 64, float32; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); median of {args.rounds} rounds"
    )
    print(f"{'layer':<14} {'pass':<8} {'PyTorch ms':>10} {'chainrule ms':>12} {'ratio':>6}")
    for name, *_ in CONFIGS:
        for pass_ in ("fwd", "fwd+bwd"):
            t = statistics.median(times[name, pass_, "torch"]) * 1e3
            o = statistics.median(times[name, pass_, "ours"]) * 1e3
            print(f"{name:<14} {pass_:<8} {t:10.2f} {o:12.2f} {t / o:6.2f}")
    print("ratio = PyTorch time / chainrule time (> 1: chainrule faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
