"""How much memory an allocation needs, checked before it is made.

NumPy's own failure ("Unable to allocate 29.8 GiB for an array with shape (1000000000, 64)") names no
layer, flag or file, and on Linux an allocation that the kernel grants lazily may instead get the process
killed when it is filled. So sizes computed from shapes (a layer's weights, a data file's header) are
compared with the memory available before allocating, and refused by the caller's name for the thing.

The budget is the memory the operating system reports as available now (Linux's ``MemAvailable``: free
plus reclaimable cache); where that is unknown, the physical memory; where that is unknown too, no limit.
"""

import os

from chainrule.errors import ChainruleError

SMALL = 1 << 24  # 16 MiB


def available_bytes() -> int | None:
    """Memory available to this process now, in bytes (None if the system does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB (KiB)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """1536 → '1.5 KiB'; 32e9 → '29.8 GiB' (NumPy's units)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str, advice: str = "", verb: str = "need") -> None:
    """An error naming ``what`` ("Linear(4→1000000000): its … parameters") if ``nbytes`` exceed the
    memory available: "{what} {verb} 29.8 GiB, more than …"; ``advice`` (e.g. "use fewer hidden
    units") ends the message."""
    if nbytes < SMALL:  # not worth reading /proc/meminfo for (every Linear comes through here)
        return
    have = available_bytes()
    if have is not None and nbytes > have:
        raise ChainruleError(
            f"{what} {verb} {format_bytes(nbytes)}, more than the {format_bytes(have)} of memory available"
            + (f"; {advice}" if advice else "")
        )


def check_parameters(layer: str, values: int, itemsize: int) -> None:
    """Before a layer allocates ``values`` parameters of ``itemsize`` bytes (each with its gradient)."""
    check_fits(2 * values * itemsize, f"{layer}: its {values:,} parameters and their gradients")
