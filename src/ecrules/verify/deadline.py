"""Wall-clock limits for `verify`: a per-check `--timeout` and a whole-run `--deadline`.

Both cover everything a check does (building z3 terms, solving, refining, confirming witnesses),
not only the solver: the encoder calls `Deadline.check()` as it builds terms, and every solver
call runs with z3's own timeout set to the time left *and* a watchdog thread that interrupts the
z3 context shortly after, because z3's timeout is advisory in some tactics (the string solver
has overrun it tenfold). What does not finish becomes `unknown (deadline)`.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import z3  # type: ignore[import-untyped]

#: the watchdog fires this long after z3's own timeout should have
SLACK = 0.05


class DeadlineExceeded(Exception):
    """The time of a check or of the run is up; the verdict becomes `unknown (deadline)`."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def check_seconds(value: float | None, name: str) -> str | None:
    """Why `value` is not a usable time limit (None when it is): positive, finite seconds."""
    if value is None:
        return None
    if math.isnan(value) or math.isinf(value) or value <= 0:
        return f"`{name}` must be a positive, finite number of seconds, not `{value}`"
    return None


class Deadline:
    """A point in time (`time.monotonic`) and what to call it when it passes."""

    end: float

    def __init__(self, seconds: float | None, what: str, parent: Deadline | None = None):
        now = time.monotonic()
        end: float = now + seconds if seconds is not None else math.inf
        self.what = what
        if parent is not None and parent.end < end:
            end, self.what = parent.end, parent.what
        self.end = end

    @classmethod
    def never(cls) -> Deadline:
        return cls(None, "no limit")

    def sub(self, seconds: float | None, what: str) -> Deadline:
        """A nested limit that never outlasts this one."""
        return Deadline(seconds, what, self)

    def remaining(self) -> float:
        return self.end - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self) -> None:
        """Raise `DeadlineExceeded` once the time is up (cheap: call it as often as you like)."""
        if time.monotonic() >= self.end:
            raise DeadlineExceeded(self.what)

    def solve(self, solver: Any, *assumptions: Any, cap: float | None = None) -> Any:
        """`solver.check()` within the time left (and `cap` seconds at most); a check that the
        deadline cuts short raises `DeadlineExceeded`, one that `cap` cuts short returns unknown."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(self.what)
        limit = min(left, cap) if cap is not None else left
        ms = max(1, int(limit * 1000)) if math.isfinite(limit) else 0
        solver.set("timeout", ms if ms else 4294967295)
        timer = None
        if math.isfinite(limit):
            ctx = solver.ctx
            timer = threading.Timer(limit + SLACK, ctx.interrupt)
            timer.daemon = True
            timer.start()
        try:
            res = solver.check(*assumptions)
        finally:
            if timer is not None:
                timer.cancel()
        if res == z3.unknown and self.remaining() <= 0:
            raise DeadlineExceeded(self.what)
        return res
