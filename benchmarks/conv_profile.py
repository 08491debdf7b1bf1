"""Per-phase profile of Conv2d's flat path (``core.conv_flat``), 16→32 @ 14², 3×3 pad 1, batch 64, float32.

    python benchmarks/conv_profile.py [--reps 41] [--shape 16,32,14]   (C_in, C_out, H: another shape)

Each phase of one forward + backward is run alone, on one thread with single-threaded BLAS, on the
layer's own buffers, block by block as the layer walks the batch: the patch-matrix copy, the zeroing of
reads that wrap across a row end, the three GEMM families (forward, ∂ℓ/∂W, ∂ℓ/∂P: per sample, as the
layer runs them), the batch-wide GEMMs of the same FLOPs for comparison (not used: in float32 their
bytes differ from the per-sample GEMMs'), and the scatter-add that is the adjoint of the copy. Times
are thread CPU time (``time.thread_time``), which other processes on a busy machine disturb far less
than wall time; the minimum estimates a quiet machine, the median what this run saw.
"""

import argparse
import os
import statistics
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=41)
    ap.add_argument("--shape", default="16,32,14", help="C_in,C_out,H (batch 64, 3×3, padding 1)")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    import chainrule as cr
    from chainrule.core import conv_flat

    cr.set_num_threads(1)
    C, O, H = (int(v) for v in args.shape.split(","))
    N = 64
    rng = np.random.default_rng(0)
    conv = cr.Conv2d(C, O, 3, padding=1, dtype=np.float32, rng=rng)
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    dy = rng.standard_normal((N, O, H, H), dtype=np.float32)
    conv.forward(x)
    f = conv._flat
    K, q = f.ck, f.q
    Wb = rng.standard_normal((O, K + 1), dtype=np.float32)
    WT = np.ascontiguousarray(Wb[:, :-1].T)
    dq = dy.reshape(N, O, q)
    y = np.empty((N, O, q), np.float32)
    dx = np.empty_like(x)
    per = np.empty((N, K + 1, O), np.float32)
    blocks = list(f._blocks(0, N))
    Pb = np.ascontiguousarray(f.P.transpose(1, 0, 2)).reshape(K + 1, N * q)  # (K+1, N·q): batch-wide layout
    dqb = np.ascontiguousarray(dq.transpose(1, 0, 2)).reshape(O, N * q)

    def whole():
        conv.forward(x)
        conv.backward(dy)

    phases = {
        "Conv2d forward + backward (the layer)": whole,
        "copy x into the row-padded buffer": lambda: f.interior.__setitem__(slice(None), x),
        "patch-matrix copy (one strided copy)": lambda: np.copyto(f.P[:, :-1].reshape(N, C, 3, 3, q), f.view),
        "zero the wrapped reads of P": lambda: f._zero_wraps(f.P),
        f"GEMM forward, per sample {O}×{K + 1} @ {K + 1}×{q}": lambda: np.matmul(Wb, f.P, out=y),
        f"GEMM ∂ℓ/∂W, per sample {K + 1}×{q} @ {q}×{O}, + Σₙ": lambda: (
            np.matmul(f.P, dq.transpose(0, 2, 1), out=per),
            conv_flat.sum_samples(per, conv_flat.SUM_HALVES_WORK),
        ),
        f"GEMM ∂ℓ/∂P, per sample {K}×{O} @ {O}×{q}": lambda: [
            np.matmul(WT, dq[b0:b1], out=f._dP(0, b1 - b0)) for b0, b1 in blocks
        ],
        "scatter ∂ℓ/∂P back (zero wraps + 9 shifted adds)": lambda: [
            f._scatter(f._dP(0, b1 - b0), dx, 0, b0, b1) for b0, b1 in blocks
        ],
        f"batch-wide GEMM forward {O}×{K + 1} @ {K + 1}×{N * q}": lambda: Wb @ Pb,
        f"batch-wide GEMM ∂ℓ/∂W {O}×{N * q} @ {N * q}×{K + 1}": lambda: dqb @ Pb.T,
        f"batch-wide GEMM ∂ℓ/∂P {K}×{O} @ {O}×{N * q}": lambda: WT @ dqb,
    }
    load = os.getloadavg()[0]
    res = {}
    for name, fn in phases.items():
        fn()
        ts = []
        for _ in range(args.reps):
            t = time.thread_time()
            fn()
            ts.append((time.thread_time() - t) * 1e3)
        res[name] = ts
    print(f"Conv2d {C}→{O} @ {H}², batch 64, float32, 1 thread; thread CPU ms over {args.reps} calls; load {load:.2f}")
    print(f"{'phase':<52} {'min':>7} {'median':>7}")
    for name, ts in res.items():
        print(f"{name:<52} {min(ts):7.3f} {statistics.median(ts):7.3f}")
    names = list(res)
    gemm = sum(min(res[k]) for k in names[4:7])
    print(f"sum of the layer's GEMMs (min): {gemm:.3f} ms; the layer ÷ its GEMMs: {min(res[names[0]]) / gemm:.2f}×")
    batch = sum(min(res[k]) for k in names[8:11])
    print(f"sum of the batch-wide GEMMs (min): {batch:.3f} ms; the layer ÷ those: {min(res[names[0]]) / batch:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
