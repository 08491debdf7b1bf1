"""chainrule's thread count: ``chainrule.set_num_threads(n)`` / ``chainrule.get_num_threads()``.

The count is how many Python threads Conv2d's flat speed path (``core.conv_flat``) splits a batch
over (the strided path, ``core.conv_strided``, its copies by channel and its GEMMs by output row);
each runs its GEMMs on single-threaded BLAS, so OpenBLAS's own spinning threads never compete
with them or with another library's threads in the process. The default is 2 (these machines have two
cores). ``chainrule train --threads`` limits BLAS only and leaves this count alone, so the bytes a
training run writes do not depend on it (a different split sums ∂ℓ/∂W's per-chunk parts in another
grouping, which changes float rounding).
"""

from chainrule.core import conv_flat
from chainrule.errors import ChainruleError


def set_num_threads(n: int) -> None:
    """Split Conv2d's flat-path batches over ``n`` ≥ 1 threads (1: everything in the calling thread)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ChainruleError(f"the number of threads must be a whole number ≥ 1, got {n!r}")
    conv_flat.THREADS = n


def get_num_threads() -> int:
    """The thread count set by ``set_num_threads`` (default 2)."""
    return conv_flat.THREADS
