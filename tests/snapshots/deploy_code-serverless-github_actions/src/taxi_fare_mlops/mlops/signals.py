"""How the long-running commands (`serve`, `make mlflow-ui`) end: SIGTERM (and for the UI, the
other signals that stop a terminal's program) as Ctrl-C.

`kill`, `docker stop` and systemd send SIGTERM, whose default action ends Python at once (exit
143, no "stopped" line, no cleanup). Inside `sigterm_as_interrupt()` it raises
KeyboardInterrupt instead, so both signals take the one path that stops cleanly. A background
job (`cmd &`) starts with SIGINT ignored, and that is left as it is: there SIGTERM is the way
to stop it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


def _interrupt(_signal_number: int, _frame) -> None:
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> AbstractContextManager[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread while inside."""
    return signals_as_interrupt(signal.SIGTERM)


def signals_as_interrupt(*signal_numbers: int) -> AbstractContextManager[None]:
    """Each of these signals raises KeyboardInterrupt in the main thread while inside."""
    return _handled_by(_interrupt, signal_numbers)


def signals_ignored(*signal_numbers: int) -> AbstractContextManager[None]:
    """These signals are ignored while inside (a second Ctrl-C while a server stops)."""
    return _handled_by(signal.SIG_IGN, signal_numbers)


@contextmanager
def _handled_by(handler, signal_numbers: tuple[int, ...]) -> Iterator[None]:
    """The handler for these signals while inside; the previous ones come back on the way out.
    Elsewhere than the main thread (Python allows handlers only there) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in signal_numbers}
    try:
        yield
    finally:
        for number, old_handler in previous.items():
            signal.signal(number, old_handler)
