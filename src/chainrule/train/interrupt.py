"""Interrupting a run between steps: Ctrl-C's stop flag, and the test-only pause that tests interrupt at."""

import signal
from collections.abc import Callable

TEST_PAUSE = "CHAINRULE_TEST_PAUSE_AT"


def pause_hook(stop: "StopFlag", update: Callable[[int], None] | None, epoch: int) -> Callable[[int], None] | None:
    """Test-only hook: with ``CHAINRULE_TEST_PAUSE_AT=E:S`` the run prints a marker after step S of epoch E
    (both from 1) and waits for a signal, so interruption tests synchronise on an event, never on a sleep."""
    import os
    import sys

    at = os.environ.get(TEST_PAUSE, "")
    if not at or at.split(":")[0] != str(epoch):
        return update
    when = int(at.split(":")[1])

    def hooked(done: int) -> None:
        if update is not None:
            update(done)
        if done == when:
            print(f"test hook: paused at epoch {epoch}, step {done}", flush=True)
            while not stop():
                signal.pause()  # returns after a handler ran (SIGINT sets the stop flag); SIGKILL ends it here
            sys.stdout.flush()

    return hooked


class StopFlag:
    """Ctrl-C sets a flag that the loop checks between steps, so a step is never cut in half."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self) -> bool:
        return self.stopped

    def __enter__(self) -> "StopFlag":
        def handler(signum: int, frame: object) -> None:
            self.stopped = True

        try:
            self._old = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread: Ctrl-C is not ours to catch
            self._old = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
