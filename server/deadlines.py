"""The request timeout: one watchdog per process cancels the requests that run past it.

A timer per request (`asyncio.timeout`) costs about 4 us on every request; noting the request's
task and deadline in a dict costs a tenth of that, and the watchdog looks at the dict a few times
per timeout period, so a request overruns by at most that period's tenth.
"""

from __future__ import annotations

import asyncio
import time


class Deadlines:
    __slots__ = ("_running", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._running: dict[asyncio.Task[object], float] = {}
        self.expired: set[asyncio.Task[object]] = set()

    def start(self, task: asyncio.Task[object], now: float) -> None:
        self._running[task] = now + self.seconds

    def stop(self, task: asyncio.Task[object]) -> None:
        """The request is over."""
        self._running.pop(task, None)

    def check(self, now: float) -> None:
        """Cancel every request past its deadline; `expired` tells the request why."""
        late = [task for task, deadline in self._running.items() if deadline <= now]
        for task in late:
            del self._running[task]
            self.expired.add(task)
            task.cancel()

    async def watch(self) -> None:
        period = min(1.0, max(0.01, self.seconds / 10))
        while True:
            await asyncio.sleep(period)
            self.check(time.perf_counter())
