"""The flow room's error types: each message says what is wrong and where, for a user to act on.

Readers raise these and nothing else for bad input; a frame that cannot become a packet but leaves
the rest of its source readable is not an error: it is counted in `Skipped`.
"""

from __future__ import annotations

from pathlib import Path


class FlowsError(Exception):
    """Base of every error the flow room raises on purpose; its message is safe to show."""


class CaptureError(FlowsError):
    """A capture file cannot be read (further): names the file and, where known, the packet."""

    def __init__(self, path: str | Path, problem: str, packet: int | None = None) -> None:
        where = f"{path}" if packet is None else f"{path}, packet {packet}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.packet = packet
        self.problem = problem


class NotACaptureError(CaptureError):
    """The file is no pcap or pcapng capture (its first bytes are no magic number we know)."""


class CorruptCaptureError(CaptureError):
    """The file's framing is broken: a record or block whose length cannot be right."""


class TruncatedCaptureError(CaptureError):
    """The file ends before its headers do (a capture cut off while being written or copied)."""


class LiveCaptureError(FlowsError):
    """A live capture cannot start or go on: the message names the interface and what to do."""


class CapturePermissionError(LiveCaptureError):
    """The process lacks CAP_NET_RAW (or root) to open a packet socket."""


class InterfaceNotFoundError(LiveCaptureError):
    """No network interface has the name given."""


class FilterError(LiveCaptureError):
    """The BPF filter expression does not compile."""
