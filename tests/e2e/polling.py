"""Every wait in the end-to-end tests polls with a deadline: no sleep-then-read."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.5) -> T:
    """The first truthy value `check` returns; AssertionError naming `what` at the deadline.

    Exceptions from `check` count as "not yet" (a port that is not listening yet), and the last
    one is reported if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last})" if last is not None else ""
            raise AssertionError(f"{what}: not within {timeout:.0f}s{detail}")
        time.sleep(interval)
