"""Conv2d forward + backward against PyTorch and against its own GEMMs (float32, batch 64), in one run.

    python benchmarks/conv.py [--rounds 5] [--block 0.1]

The issue's shapes: 16→32 @ 14² and 32→64 @ 7² (3×3, padding 1), 16→32 @ 14² with stride 2, 1→8 @ 28².
For each: chainrule with 1 and 2 threads (``chainrule.set_num_threads``), PyTorch with 1 and 2 threads
(``torch.set_num_threads``), and the GEMM ceiling: the very GEMMs the pass performs (same shapes, same
layout, ``np.matmul`` on 1 BLAS thread) timed alone. Printed: median ms per fwd+bwd and the spread
(min–max over the rounds); ratios PyTorch ÷ chainrule (> 1: chainrule faster) and chainrule ÷ GEMMs
(1.0 is the ceiling); for the stride-2 shape also its cost per FLOP over the stride-1 shape's.

Why it is built this way: on a shared 2-core machine the load changes from second to second, so the
engines alternate block by block within every round and the medians are compared, never single runs.
Threads through the public knobs (``threads_setup.use_threads``): NumPy's BLAS stays on one thread for
the whole run (once OpenBLAS has run multi-threaded, its spinning threads made PyTorch's fwd+bwd 20–30×
slower here); chainrule's convolution runs its own threads over single-threaded BLAS.
"""

import argparse
import os
import statistics
import time

import numpy as np

CONFIGS = [  # (name, N, C_in, C_out, H, stride)
    ("16→32 @ 14²", 64, 16, 32, 14, 1),
    ("32→64 @ 7²", 64, 32, 64, 7, 1),
    ("16→32 @ 14² s2", 64, 16, 32, 14, 2),
    ("1→8 @ 28²", 64, 1, 8, 28, 1),
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


def gemms(layer, x):
    """A callable running, alone, the GEMMs one fwd+bwd of ``layer`` on ``x`` performs (same shapes, layout)."""
    from chainrule.core import threads

    N, C, H, W = x.shape
    O, Cg, kh, kw = layer.weight.shape
    layer.forward(x)
    flat = layer._flat if layer._cache[0] is None else None
    rng = np.random.default_rng(0)
    dt = x.dtype
    if layer._cache[0] is None and layer._fast is layer._strided:  # core.conv_strided: three batch-wide GEMMs
        return strided_gemms(layer._strided, rng)
    if flat is not None:  # core.conv_flat: [W | b] @ P, P dqᵀ per sample, Wᵀ dq per sample
        K, q = flat.ck, flat.q
        Wb = rng.standard_normal((O, K + 1), dtype=dt)
        WT = rng.standard_normal((K, O), dtype=dt)
        P = rng.standard_normal((N, K + 1, q), dtype=dt)
        dq = rng.standard_normal((N, O, q), dtype=dt)
        y = np.empty((N, O, q), dt)

        def run():
            with threads.blas_single():
                np.matmul(Wb, P, out=y)
                np.matmul(P, dq.transpose(0, 2, 1))
                np.matmul(WT, dq)

        return run
    oh, ow = layer.output_hw((H, W))
    G, K, q = layer.groups, Cg * kh * kw, oh * ow
    Wg = rng.standard_normal((G, O // G, K), dtype=dt)
    cols = rng.standard_normal((N, G, K, q), dtype=dt)
    dyg = rng.standard_normal((N, G, O // G, q), dtype=dt)

    def run_im2col():
        with threads.blas_single():
            Wg @ cols
            np.einsum("ngop,ngkp->gok", dyg, cols, optimize=True)
            Wg.transpose(0, 2, 1) @ dyg

    return run_im2col


def strided_gemms(conv, rng):
    """W @ cols, cols @ ∂ℓ/∂yᵀ and Wᵀ @ ∂ℓ/∂y on the shapes of ``core.conv_strided`` (groups = 1)."""
    from chainrule.core import threads

    (K, q), O, dt = conv.cols.shape, conv.O, conv.cols.dtype
    W, WT = rng.standard_normal((O, K), dtype=dt), rng.standard_normal((K, O), dtype=dt)
    cols, dq = rng.standard_normal((K, q), dtype=dt), rng.standard_normal((O, q), dtype=dt)
    y, dcols = np.empty((O, q), dt), np.empty((K, q), dt)

    def run():
        with threads.blas_single():
            np.matmul(W, cols, out=y)
            np.matmul(cols, dq.T)
            np.matmul(WT, dq, out=dcols)

    return run


def engines(N, cin, cout, H, stride, rng):
    """{column: callable} for one shape, chainrule and PyTorch with the same weights, checked to agree."""
    import torch

    import chainrule as cr
    from chainrule.interop.torch import to_torch

    ours = cr.Conv2d(cin, cout, 3, stride=stride, padding=1, dtype=np.float32, rng=rng)
    theirs = to_torch(ours)
    x = rng.standard_normal((N, cin, H, H), dtype=np.float32)
    oh = ours.output_hw((H, H))
    dy = rng.standard_normal((N, cout, *oh), dtype=np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    dyt = torch.from_numpy(dy.copy())
    ours.zero_grad()
    y, dx = ours.forward(x), ours.backward(dy)
    yt = theirs(xt)
    yt.backward(dyt)
    assert np.allclose(y, yt.detach().numpy(), rtol=1e-3, atol=1e-3), "forward differs from PyTorch"
    assert np.allclose(dx, xt.grad.numpy(), rtol=1e-3, atol=1e-3), "∂ℓ/∂x differs from PyTorch"
    assert np.allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-3, atol=1e-2), "∂ℓ/∂W differs"

    def ours_with(threads):
        def run():
            cr.set_num_threads(threads)
            ours.forward(x)
            ours.backward(dy)

        return run

    def torch_with(threads):
        def run():
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            theirs(xt).backward(dyt)

        return run

    flops = 2 * 3 * N * cout * cin * 9 * oh[0] * oh[1]  # forward, ∂ℓ/∂W, ∂ℓ/∂x: three GEMMs' worth
    return {
        "torch 1T": torch_with(1),
        "ours 1T": ours_with(1),
        "GEMMs": gemms(ours, x),
        "torch 2T": torch_with(2),
        "ours 2T": ours_with(2),
    }, flops


def spread(v: list[float]) -> str:
    """median (min–max)"""
    return f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="rounds of alternating blocks (median and spread taken)")
    ap.add_argument("--block", type=float, default=0.1, help="seconds per timed block")
    args = ap.parse_args(argv)

    from threads_setup import use_threads

    use_threads(1)  # see the module docstring
    import torch

    import chainrule as cr

    rng = np.random.default_rng(0)
    table = {c[0]: engines(*c[1:], rng) for c in CONFIGS}
    times: dict = {}
    load0 = os.getloadavg()
    for _ in range(args.rounds):
        for name, (fns, _) in table.items():
            for col, fn in fns.items():  # alternate block by block
                times.setdefault((name, col), []).append(time_block(fn, args.block) * 1e3)
    cr.set_num_threads(2)
    load1 = os.getloadavg()
    print(
        f"Conv2d 3×3 pad 1, batch 64, float32, forward + backward; torch {torch.__version__}; {args.rounds} rounds; "
        f"load average {load0[0]:.2f} before, {load1[0]:.2f} after"
    )
    print("ms per pass: median (min–max over rounds); ratio = PyTorch ÷ chainrule (> 1: chainrule faster)")
    head = f"{'shape':<16} {'chainrule 1T':>22} {'PyTorch 1T':>22} {'ratio 1T':>22} "
    print(head + f"{'chainrule 2T':>22} {'PyTorch 2T':>22} {'ratio 2T':>22} {'GEMMs 1T':>22} {'chainrule ÷ GEMMs':>22}")
    per_flop = {}
    for name, (_, flops) in table.items():
        t = {col: times[name, col] for col in ("ours 1T", "torch 1T", "ours 2T", "torch 2T", "GEMMs")}
        per_flop[name] = statistics.median(t["ours 1T"]) / flops

        def ratio(a, b, t=t):  # per round (the two blocks ran seconds apart), then median and spread
            return spread([x / y for x, y in zip(t[a], t[b], strict=True)])

        print(
            f"{name:<16} {spread(t['ours 1T']):>22} {spread(t['torch 1T']):>22} {ratio('torch 1T', 'ours 1T'):>22} "
            f"{spread(t['ours 2T']):>22} {spread(t['torch 2T']):>22} {ratio('torch 2T', 'ours 2T'):>22} "
            f"{spread(t['GEMMs']):>22} {ratio('ours 1T', 'GEMMs'):>22}"
        )
    s1, s2 = per_flop["16→32 @ 14²"], per_flop["16→32 @ 14² s2"]
    print(f"stride 2 cost per FLOP ÷ stride 1 (16→32 @ 14², chainrule 1T): {s2 / s1:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
