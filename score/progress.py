"""Progress on stderr while a run goes (a bar on a terminal, a plain line every few seconds
otherwise) and the summary when it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

BAR_WIDTH = 24


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass
class Progress:
    """Rows done, rows/s and an ETA from the share of the input bytes read."""

    stream: TextIO
    total_bytes: int
    tty: bool
    interval: float = 0.2  # seconds between redraws of a bar; plain lines come every 10 s
    enabled: bool = True
    rows: int = 0
    done_bytes: int = 0
    _start: float = field(default_factory=time.monotonic)
    _shown: float = field(default_factory=time.monotonic)

    def update(self, rows: int, done_bytes: int) -> None:
        self.rows += rows
        self.done_bytes += done_bytes
        now = time.monotonic()
        if self.enabled and now - self._shown >= (self.interval if self.tty else 10.0):
            self._shown = now
            self._draw(now)

    def line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        share = min(self.done_bytes / self.total_bytes, 1.0) if self.total_bytes else 1.0
        eta = elapsed * (1 - share) / share if share > 0 else 0.0
        return (
            f"{share:6.1%}  {self.rows:,} rows  {self.rows / elapsed:,.0f} rows/s  "
            f"ETA {_duration(eta)}"
        )

    def _draw(self, now: float) -> None:
        text = self.line(now)
        if self.tty:
            share = min(self.done_bytes / self.total_bytes, 1.0) if self.total_bytes else 1.0
            filled = int(BAR_WIDTH * share)
            self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text}\x1b[K")
        else:
            self.stream.write(f"score: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


@dataclass
class Summary:
    """What a run did: the closing lines, and the figures for callers (tests, benchmarks)."""

    output: str
    inputs: int = 0
    rows: int = 0  # rows scored
    blank: int = 0  # empty lines and lines of bare commas, skipped
    rejected: dict[str, int] = field(default_factory=dict)  # kind -> rows
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> label -> rows
    seconds: float = 0.0
    rejected_file: str | None = None
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage, summed over jobs

    def add_stages(self, seconds: dict[str, float]) -> None:
        for stage, value in seconds.items():
            self.stages[stage] = self.stages.get(stage, 0.0) + value

    def as_json(self) -> dict[str, object]:
        return {
            "output": self.output,
            "inputs": self.inputs,
            "rows": self.rows,
            "blank_lines": self.blank,
            "rejected": self.rejected,
            "rejected_file": self.rejected_file,
            "predictions": self.counts,
            "seconds": self.seconds,
            "stage_seconds": self.stages,
        }

    def add_counts(self, model: str, counts: dict[str, int]) -> None:
        mine = self.counts.setdefault(model, {})
        for label, rows in counts.items():
            mine[label] = mine.get(label, 0) + rows

    def render(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"scored {self.rows:,} rows from {self.inputs} file(s) in {self.seconds:.1f} s "
            f"({rate:,.0f} rows/s) -> {self.output}"
        ]
        for model, counts in self.counts.items():
            shown = ", ".join(
                f"{label} {rows:,}" for label, rows in sorted(counts.items(), key=lambda i: -i[1])
            )
            lines.append(f"  {model}: {shown or 'no rows'}")
        if self.blank:
            lines.append(f"  {self.blank:,} blank line(s) skipped")
        total = sum(self.rejected.values())
        if total:
            why = ", ".join(f"{kind} {rows:,}" for kind, rows in sorted(self.rejected.items()))
            lines.append(f"  {total:,} row(s) rejected ({why}), listed in {self.rejected_file}")
        else:
            lines.append("  0 rows rejected")
        return "\n".join(lines)
