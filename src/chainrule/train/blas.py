"""How many threads BLAS may use while a run trains."""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Limit BLAS to ``n`` threads while training (through threadpoolctl, a runtime dependency).

    The matrices of these networks are small: extra BLAS threads mostly wait on each other, and on a
    busy machine they made a batch-64 epoch dozens of times slower. One thread also makes the result
    independent of the machine's core count, so a run resumed elsewhere still ends bit for bit the same.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield
