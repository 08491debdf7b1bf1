"""Per-phase profile of Conv2d 16→32 @ 14², 3×3, stride 2, pad 1, batch 64, float32: im2col vs ``core.conv_strided``.

    python benchmarks/conv_strided_profile.py [--reps 41]

Each phase of one forward + backward is run alone, on one thread with single-threaded BLAS: for the
im2col path (``nn.conv``: per-sample GEMMs, an einsum for ∂ℓ/∂W, ``windows_backward``) and for the
strided path on the layer's own buffers (phase-image fill, one window copy per tap, three batch-wide
GEMMs, the adds back). The stride-1 layer (flat path) is timed too, for the cost per FLOP. Thread CPU
time (``time.thread_time``), phases alternated call by call; min (a quiet machine) and median.
"""

import argparse
import os
import statistics
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=41)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")
    import chainrule as cr
    from chainrule.core import windows as win

    cr.set_num_threads(1)
    N, C, O, H, S = 64, 16, 32, 14, 2
    rng = np.random.default_rng(0)
    conv = cr.Conv2d(C, O, 3, stride=S, padding=1, dtype=np.float32, rng=rng)
    one = cr.Conv2d(C, O, 3, padding=1, dtype=np.float32, rng=rng)
    im2col = cr.Conv2d(C, O, 3, stride=S, padding=1, dtype=np.float32, rng=rng)
    im2col.path = "im2col"
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    dy = rng.standard_normal((N, O, 7, 7), dtype=np.float32)
    dy1 = rng.standard_normal((N, O, H, H), dtype=np.float32)
    conv.forward(x)
    f, pads = conv._strided, conv.last_pads
    W, K = conv.weight.data, C * 9
    WT = np.ascontiguousarray(W.reshape(O, K).T)
    xp = win.pad(x, pads)
    w6 = win.windows(xp, (3, 3), (S, S), (1, 1))
    cols = np.ascontiguousarray(w6.transpose(0, 1, 4, 5, 2, 3)).reshape(N, 1, K, 49)
    dyg = dy.reshape(N, 1, O, 49)
    dwin = (W.reshape(1, O, K).transpose(0, 2, 1) @ dyg).reshape(N, C, 3, 3, 7, 7).transpose(0, 1, 4, 5, 2, 3)
    dx = np.zeros_like(x)
    dq2 = f.dq.reshape(O, -1)

    def fill():
        xc = x.transpose(1, 2, 3, 0)
        for cells, _, (_, _, rows, cols_) in f.fills:
            cells[...] = xc[:, rows, cols_]

    def scatter():
        f._scatter(dx, 0, C)

    phases = {
        "stride 1, flat path: forward + backward": lambda: (one.forward(x), one.backward(dy1)),
        "stride 2, im2col: forward + backward": lambda: (im2col.forward(x), im2col.backward(dy)),
        "  pad x": lambda: win.pad(x, pads),
        "  patch copy (N, C·9, 49), inner runs of 7": lambda: np.ascontiguousarray(w6.transpose(0, 1, 4, 5, 2, 3)),
        "  GEMM forward, per sample 32×144 @ 144×49": lambda: W.reshape(1, O, K) @ cols,
        "  ∂ℓ/∂W: einsum over (n, p)": lambda: np.einsum("ngop,ngkp->gok", dyg, cols, optimize=True),
        "  GEMM ∂ℓ/∂P, per sample 144×32 @ 32×49": lambda: W.reshape(1, O, K).transpose(0, 2, 1) @ dyg,
        "  windows_backward (9 strided adds, inner 7)": lambda: win.windows_backward(dwin, (H, H), pads, (S, S)),
        "stride 2, strided path: forward + backward": lambda: (conv.forward(x), conv.backward(dy)),
        "  x into the 4 phase images (C, row, col, N)": fill,
        "  window copy per tap, runs of 7·64": lambda: [np.copyto(d, s) for d, s in f.taps],
        "  GEMM forward 32×144 @ 144×3136": lambda: np.matmul(W.reshape(O, K), f.cols, out=f.yq),
        "  y out: (O, i, j, N) -> NCHW, + b": lambda: (
            f.yq.reshape(O, 7, 7, N).transpose(3, 0, 1, 2) + conv.bias.data[:, None, None]
        ),
        "  ∂ℓ/∂y into (O, i, j, N)": lambda: f.dq.__setitem__(slice(None), dy.transpose(1, 2, 3, 0)),
        "  GEMM ∂ℓ/∂W 144×3136 @ 3136×32": lambda: f.cols @ dq2.T,
        "  GEMM ∂ℓ/∂cols 144×32 @ 32×3136": lambda: np.matmul(WT, dq2, out=f.dcols),
        "  adds back per tap + phase images -> dx": scatter,
    }
    load = os.getloadavg()[0]
    res: dict = {name: [] for name in phases}
    for fn in phases.values():
        fn()
    for _ in range(args.reps):
        for name, fn in phases.items():
            t = time.thread_time()
            fn()
            res[name].append((time.thread_time() - t) * 1e3)
    print(f"Conv2d 16→32 @ 14² s2, batch 64, float32, 1 thread; thread CPU ms over {args.reps} calls; load {load:.2f}")
    print(f"{'phase':<48} {'min':>7} {'median':>7}")
    for name, ts in res.items():
        print(f"{name:<48} {min(ts):7.3f} {statistics.median(ts):7.3f}")
    t1, t2, t3 = (min(res[k]) for k in list(phases)[:2] + ["stride 2, strided path: forward + backward"])
    print(
        f"cost per FLOP ÷ stride 1's (min; stride 2 does ¼ of the FLOPs): "
        f"im2col {4 * t2 / t1:.2f}×, strided {4 * t3 / t1:.2f}×"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
