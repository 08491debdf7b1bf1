"""Both engines on the same number of threads, through their public knobs (every benchmark calls this).

``chainrule.set_num_threads(n)``: chainrule's own threads, NumPy's BLAS held at one thread (docs/
performance.md, "Threads: the policy": OpenBLAS's idle threads spin and slowed PyTorch 20–30× here);
``torch.set_num_threads(n)``: PyTorch's. A benchmark's "2 threads" row is ``use_threads(2)``.
"""


def use_threads(n: int, torch_threads: int | None = None) -> None:
    """chainrule on ``n`` threads, PyTorch on ``torch_threads`` (default ``n``)."""
    import torch

    import chainrule

    chainrule.set_num_threads(n)
    if torch.get_num_threads() != (torch_threads or n):
        torch.set_num_threads(torch_threads or n)
