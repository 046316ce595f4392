"""How the long-running commands (`serve`, `make mlflow-ui`) end: SIGTERM as Ctrl-C.

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
from contextlib import contextmanager


def _interrupt(_signal_number: int, _frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread while inside; the previous handler
    comes back on the way out. Elsewhere than the main thread (Python allows handlers only
    there) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
