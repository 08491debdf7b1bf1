"""Progress: a bar per epoch on a terminal (tqdm), one plain line per epoch otherwise."""

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO


class Progress:
    """``start(epoch, steps)``, ``update(step)`` (cheap: redraws about 100 times an epoch), ``line(text)``."""

    def __init__(self, bar: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout or open(os.devnull, "w")  # None: started with stdout closed
        ttys = [f is not None and f.isatty() for f in (sys.stdout, sys.stderr)]
        self.bar_on = all(ttys) if bar is None else bar
        self._bar: Any = None  # a tqdm bar while an epoch runs on a terminal

    def start(self, epoch: int, epochs: int, steps: int, done: int = 0) -> Callable[[int], None] | None:
        if not self.bar_on:
            return None
        from tqdm import tqdm

        self._bar = tqdm(
            total=steps,
            initial=done,
            desc=f"epoch {epoch}/{epochs}",
            unit="step",
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        every = max(1, steps // 100)
        self._last = done

        def update(step: int) -> None:
            if step - self._last >= every or step == steps:
                self._bar.update(step - self._last)
                self._last = step

        return update

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def line(self, text: str) -> None:
        try:
            if self._bar is not None:
                self._bar.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)
        except BrokenPipeError:  # `chainrule train | head`: the reader left, the run goes on and saves
            self._silence()

    def _silence(self) -> None:
        """Send this stream (and the process's, if it is one) to /dev/null, so later writes do not fail."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.stream.fileno())
        except (AttributeError, OSError, ValueError):  # not a file descriptor (a test's StringIO)
            self.stream = open(os.devnull, "w")  # lives as long as the Progress
        finally:
            os.close(devnull)
