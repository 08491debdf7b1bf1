"""chainrule's threads: one number, set by ``chainrule.set_num_threads(n)`` or ``chainrule train --threads n``.

The policy (docs/performance.md, "Threads: the policy"):

- ``n`` is how many threads chainrule computes on (the calling thread and n − 1 pool threads). The
  default is the number of CPUs this process may run on, as PyTorch's ``torch.get_num_threads()``.
- NumPy's BLAS runs single-threaded in a process that uses chainrule's engine: it is set to one thread
  once, when the first layer with parameters is built (``Parameter``), and on every ``set_num_threads``;
  chainrule's own threads do the parallel work instead. Why: after a multi-threaded call OpenBLAS's
  idle threads spin (measured here: 50–70 ms of CPU after each call, whether or not its thread count is
  lowered after), which made PyTorch 20–30× slower in the same process; chainrule's pool threads sleep.
- Per shape, the faster of the allowed settings: a convolution splits its batch (the strided path: its
  channels and output-row parts) over the threads only above the measured work thresholds below;
  smaller work runs in the calling thread. No result depends on the split (conv_flat.sum_samples).

Setting the count once costs one C call per BLAS; per call, chainrule's split convolutions check the
count through the same C function (~0.13 µs), not through threadpoolctl's ``limit`` (~10 µs here).
"""

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from chainrule.errors import ChainruleError

# Thresholds in float32 multiply-adds per call (N·O·(C·KH·KW+1)·OH·W for a flat convolution; a float64
# one counts two: it costs about twice as much, and the split pays by time saved), measured with
# benchmarks/threads.py: wall time, min over ≥ 10 calls × 5 alternating rounds, split in two threads ÷ one
# thread, on this 2-core AMD EPYC (OpenBLAS 0.3.31 Haswell kernel), 2026-12-03 16:40, load average 2.3
# (other engineers' suites). Handing a chunk to a pool thread and back: 15 µs at best, 60–80 µs on average.
#   (float64: the 8² shapes, 0.33 M and 2.4 M; float32 the rest)
#   forward:  0.33 M 1.9× slower, 3.6 M 1.42×, 4.0 M 0.99, 7.3 M 1.07, 7.8 M 0.75, 14.6 M 0.83, 58 M 0.59
#   backward: 0.33 M 1.65× slower, 0.9 M 1.00 (N=1: no split), 2.4 M 0.78, 3.6 M 1.10, 4.0 M 0.74, 7.3 M 0.87
# At load 4–8 (17:06) no size below 15 M gained (forward 1.13–2.12×, backward 1.05–1.32×): the second core
# was someone else's. Re-measure on a quiet machine; a lower crossover is likely there.
CONV_FORWARD_SPLIT = 8_000_000
CONV_BACKWARD_SPLIT = 4_000_000  # a backward costs ~2.5× its forward per multiply-add: it pays sooner


def _cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as PyTorch's default counts them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


THREADS = _cpus()
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_BLAS: list[tuple[Callable[[], int], Callable[[int], Any]]] | None = None  # (get, set) per BLAS library
HELD = False  # hold_blas has run (the first layer built sets it; set_num_threads sets it again)


def _blas() -> list[tuple[Callable[[], int], Callable[[int], Any]]]:
    """Get/set thread-count functions of the BLAS libraries NumPy loaded (found once, via threadpoolctl)."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a runtime dependency; without it BLAS keeps its own setting
            _BLAS = []
            return _BLAS
        found = ThreadpoolController().select(user_api="blas").lib_controllers
        ours = [c for c in found if "numpy" in str(c.filepath)] or found  # not another library's BLAS
        _BLAS = [_functions(c) for c in ours]
    return _BLAS


def _functions(c: Any) -> tuple[Callable[[], int], Callable[[int], Any]]:
    """The raw C functions where threadpoolctl knows them (OpenBLAS on pthreads), else its methods."""
    if getattr(c, "internal_api", "") == "openblas" and getattr(c, "threading_layer", "") == "pthreads":
        symbol = getattr(c, "_get_symbol", lambda name: None)  # threadpoolctl ≥ 3.2
        get, set_ = symbol("openblas_get_num_threads"), symbol("openblas_set_num_threads")
        if get is not None and set_ is not None:
            return get, set_
    return c.get_num_threads, c.set_num_threads


def hold_blas() -> None:
    """Set NumPy's BLAS to one thread for the process (when the first layer is built, and by set_num_threads)."""
    global HELD
    HELD = True
    for get, set_ in _blas():
        if get() != 1:
            set_(1)


class blas_single:
    """Context: BLAS on one thread inside (a user's threadpoolctl limit may have raised it), restored after."""

    __slots__ = ("_was",)

    def __enter__(self) -> None:
        self._was = [(set_, n) for get, set_ in _blas() if (n := get()) != 1]
        for set_, _ in self._was:
            set_(1)

    def __exit__(self, *exc: object) -> None:
        for set_, n in self._was:
            set_(n)


def set_num_threads(n: int) -> None:
    """Compute on ``n`` ≥ 1 threads (1: everything in the calling thread); NumPy's BLAS stays on one."""
    global THREADS
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ChainruleError(f"the number of threads must be a whole number ≥ 1, got {n!r}")
    THREADS = n
    hold_blas()


def get_num_threads() -> int:
    """The thread count chainrule computes on (default: the CPUs this process may run on)."""
    return THREADS


@contextmanager
def using(n: int) -> Iterator[None]:
    """Compute on ``n`` threads inside the block, then put chainrule's and BLAS's counts back."""
    was = THREADS
    blas = [(set_, get()) for get, set_ in _blas()]
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(was)
        for set_, k in blas:
            set_(k)


def run_chunks(fn: Callable[[int, int], object], cuts: list[int]) -> None:
    """fn(cuts[k], cuts[k + 1]) for every chunk k: the first in this thread, the rest in the pool."""
    global _POOL, _POOL_SIZE
    chunks = list(zip(cuts[:-1], cuts[1:], strict=True))
    if _POOL is None or _POOL_SIZE < len(chunks) - 1:
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL_SIZE = len(chunks) - 1
        _POOL = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="chainrule")
    futures = [_POOL.submit(fn, lo, hi) for lo, hi in chunks[1:]]
    fn(*chunks[0])
    for f in futures:
        f.result()


def parallel(fn: Callable[[int, int], object], n: int, work: int, backward: bool = False, itemsize: int = 4) -> None:
    """Run fn(lo, hi) over [0, n): split in up to get_num_threads() chunks (one in this thread) when
    ``work`` multiply-adds reach the pass's measured threshold, else fn(0, n) here; BLAS single-threaded.

    The thresholds (CONV_FORWARD_SPLIT / CONV_BACKWARD_SPLIT, above) count float32 multiply-adds:
    one of ``itemsize`` bytes counts itemsize / 4. Below them a hand-off costs more than it saves. BLAS
    stays single-threaded: OpenBLAS threads on these small GEMMs cost more than they bring, and spin after.
    The result must not depend on the chunks (∂ℓ/∂W: ``sum_samples``; conv_strided: its fixed cuts).
    """
    split = CONV_BACKWARD_SPLIT if backward else CONV_FORWARD_SPLIT
    k = min(THREADS, n)  # never an empty chunk
    with blas_single():
        if k < 2 or work * itemsize // 4 < split:
            fn(0, n)
            return
        run_chunks(fn, [n * i // k for i in range(k + 1)])
