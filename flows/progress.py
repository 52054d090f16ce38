"""The progress line of the commands that read captures (`flows`, `detect`):
`flows: 12,000 packets, 800 flows, 52,000 packets/s` on stderr, at most twice a second on a
terminal (rewritten in place), every 10 s otherwise (a line each)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from flows.stream import FlowStream

EVERY_S_ON_A_TERMINAL = 0.5
EVERY_S_OTHERWISE = 10.0


class Progress:
    def __init__(
        self, command: str, stream: FlowStream, enabled: bool, out: TextIO = sys.stderr
    ) -> None:
        self.command = command
        self.stream = stream
        self.enabled = enabled
        self.out = out
        self.tty = out.isatty()
        self.began = self.shown = time.monotonic()
        self.showing = False  # a line stands on the terminal, to be ended by `done`

    def update(self, **counts: int) -> None:
        """Show the packets read so far and `counts` (`flows=800, alerts=3`), if it is time."""
        now = time.monotonic()
        every = EVERY_S_ON_A_TERMINAL if self.tty else EVERY_S_OTHERWISE
        if not self.enabled or now - self.shown < every:
            return
        self.shown = now
        current = self.stream.current
        packets = self.stream.counts.packets + (current.counts.packets if current else 0)
        rate = packets / max(now - self.began, 1e-9)
        shown = "".join(f", {count:,} {name}" for name, count in counts.items())
        line = f"{self.command}: {packets:,} packets{shown}, {rate:,.0f} packets/s"
        self.out.write(f"\r{line}" if self.tty else f"{line}\n")
        self.out.flush()
        self.showing = self.tty

    def done(self) -> None:
        if self.showing:
            self.out.write("\n")
