"""Async work on an event loop of its own, in a background thread, so that a synchronous test
can fault the server while it runs."""

from __future__ import annotations

import asyncio
import threading


class Background:
    """Subclasses implement `work()`, which should return soon after `stopping` is set."""

    def __init__(self, name: str) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopping(self) -> asyncio.Event:
        assert self._stopping is not None, "not started"
        return self._stopping

    async def work(self) -> None:
        raise NotImplementedError

    def begin(self) -> None:
        self._thread.start()
        self._ready.wait()

    def end(self, timeout_s: float | None) -> None:
        """Ask the work to stop, and wait for it (at most `timeout_s`; None waits until done)."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout_s)

    def wait(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._ready.set()
        await self.work()
