"""Inference of an exported model: chainrule's forward vs the same graph in onnxruntime vs PyTorch.

Prints milliseconds per batch and ratios measured in this run (nothing is compared with stored
numbers). Short on purpose: a few repeats of a 256-example batch, float32, one thread each (NumPy's
BLAS too), best of 20.

    python benchmarks/bench_export.py
"""

import time

import numpy as np


def best_ms(fn, repeats: int = 20) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * min(times)


def main() -> None:
    import onnxruntime as ort
    import torch
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    import chainrule as cr
    from chainrule.export import onnx_model
    from chainrule.interop.torch import to_torch

    threadpool_limits(1)  # NumPy's BLAS on one thread too: the same footing as onnxruntime and torch
    torch.set_num_threads(1)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    rng = np.random.default_rng(0)
    f32 = np.float32
    nets = {
        "MLP 64-128-10": (
            cr.Sequential(cr.Linear(64, 128, rng=rng, dtype=f32), cr.Tanh(), cr.Linear(128, 10, rng=rng, dtype=f32)),
            (64,),
        ),
        "CNN 1x8x8 (train's preset)": (
            cr.Sequential(
                cr.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=f32),
                cr.ReLU(),
                cr.MaxPool2d(2),
                cr.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=f32),
                cr.ReLU(),
                cr.MaxPool2d(2),
                cr.Flatten(),
                cr.Linear(128, 64, rng=rng, dtype=f32),
                cr.ReLU(),
                cr.Linear(64, 10, rng=rng, dtype=f32),
            ),
            (1, 8, 8),
        ),
    }
    print(f"{'network (batch 256, float32)':30} {'chainrule':>10} {'onnxruntime':>12} {'torch':>8}  ort/chainrule")
    for name, (net, shape) in nets.items():
        x = rng.normal(size=(256, *shape)).astype(f32)
        sess = ort.InferenceSession(onnx_model(net).SerializeToString(), opts, providers=["CPUExecutionProvider"])
        tnet, xt = to_torch(net), torch.from_numpy(x)
        ours = best_ms(lambda: net.forward(x))  # noqa: B023  (timed before the loop moves on)
        theirs = best_ms(lambda: sess.run(None, {"input": x}))  # noqa: B023
        with torch.no_grad():
            tt = best_ms(lambda: tnet(xt))  # noqa: B023
        np.testing.assert_allclose(sess.run(None, {"input": x})[0], net.forward(x), rtol=1e-4, atol=1e-5)
        print(f"{name:30} {ours:8.3f}ms {theirs:10.3f}ms {tt:6.3f}ms  {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
