"""Live capture from a network interface: `PacketBatch`es at least every 250 ms, until stopped.

libpcap (through pcapy-ng) owns the capture: its TPACKET_V3 ring, the BPF filter, keeping one
copy of each loopback packet (a packet socket sees it going out and coming in), and the kernel's
drop counters. `next_batch` hands over every packet waiting in one call (bytes and a table of
offsets), which `flows.decode` reads as it reads a file's chunk: no Python per packet.
docs/flows-input.md has the measurements behind this choice.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

from flows.decode import LINK_TYPE_NAMES, Frames, decode
from flows.errors import (
    CapturePermissionError,
    FilterError,
    InterfaceNotFoundError,
    LiveCaptureError,
)
from flows.packets import PacketBatch, Skipped

SNAPLEN = 262144  # whole packets: the reference reads what was captured
BUFFER_BYTES = 64 << 20  # the kernel ring: room for bursts while a batch is decoded
WAKE_MS = 100  # libpcap hands over a ring block at least this often; we wait for it as long
BATCH_PACKETS = 65536
INTERVAL = 0.25  # seconds: the longest time between two batches, empty ones included
# How long after its capture time a packet can still be on its way to the reader: the kernel
# stamps a packet before its softirq queues it in the ring, and the ring hands a block over when
# it fills or WAKE_MS after it opened. Measured by python -m benchmarks.flows.delivery in three
# runs (72 cases: lo and veth; sparse, TCP and 20,000/s traffic; alone and beside 2 or 4 busy
# loops a core on a loaded 2-core machine): at most 88 ms late, never out of timestamp order.
# 300 ms is 3.4x that and 3x WAKE_MS, and leaves 0.7 s of a second for the next read and the
# work on the flows it ends. A packet later still is counted (`MeterCounts.late_packets`).
DELIVERY_MARGIN_US = 300_000

KERNEL_DROPS = "dropped by the kernel before the capture read them (its buffer was full)"
INTERFACE_DROPS = "dropped by the network interface or its driver"
# pcap_activate's error codes (pcap/pcap.h).
_NO_SUCH_DEVICE, _PERM_DENIED, _IFACE_NOT_UP, _PROMISC_PERM_DENIED = -5, -8, -9, -11


def grant() -> str:
    """What to do without CAP_NET_RAW. The interpreter is named resolved (a venv's python is a
    link, and pyenv's `python3` on PATH is a shim script that setcap cannot empower)."""
    return (
        "run it as root, or grant the capability to the interpreter once: "
        f"sudo setcap cap_net_raw,cap_net_admin+eip {os.path.realpath(sys.executable)}"
    )


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """libpcap's counters (pcap_stats): on Linux, packets the kernel passed the filter and
    packets it dropped because the ring was full."""

    received: int
    dropped: int
    interface_dropped: int


def _pcapy() -> Any:
    try:
        import pcapy
    except ImportError as error:  # pragma: no cover - the flows extra installs it
        raise LiveCaptureError(
            "live capture needs pcapy-ng and libpcap: pip install 'ids-inference[flows]'"
        ) from error
    return pcapy


class LiveCapture:
    """Packets seen on `interface` (a name such as `eth0`, `lo`, or `any`), optionally only those
    a BPF `bpf_filter` expression admits.

    Opening happens here, so a missing privilege, an unknown interface or a filter that does
    not compile raise at once (`CapturePermissionError`, `InterfaceNotFoundError`, `FilterError`).
    Iterate to get batches; `stop()` (from a signal handler or another thread) ends the
    iteration within `WAKE_MS`.
    """

    def __init__(
        self,
        interface: str,
        bpf_filter: str | None = None,
        *,
        snaplen: int = SNAPLEN,
        buffer_bytes: int = BUFFER_BYTES,
        interval: float = INTERVAL,
        skipped: Skipped | None = None,
        delivery_margin_us: int = DELIVERY_MARGIN_US,
    ) -> None:
        self.interface = interface
        self.bpf_filter = bpf_filter
        self.interval = interval
        self.delivery_margin_us = delivery_margin_us
        # When the reads that made the latest batch began (microseconds since the epoch).
        self.read_at_us = time.time_ns() // 1000
        self.skipped = Skipped() if skipped is None else skipped
        self._stop = threading.Event()
        self._number = 0
        if interface != "any":
            try:
                socket.if_nametoindex(interface)
            except OSError as error:
                raise InterfaceNotFoundError(
                    f"no network interface is named {interface!r} (`ip link` lists them)"
                ) from error
        self._handle: Any = self._open(snaplen, buffer_bytes)
        self.link_type = int(self._handle.datalink())
        if self.link_type not in LINK_TYPE_NAMES:
            self._handle.close()
            raise LiveCaptureError(
                f"{interface}: link type {self.link_type} is not read (only "
                f"{', '.join(sorted(set(LINK_TYPE_NAMES.values())))})"
            )
        if bpf_filter:
            try:
                self._handle.setfilter(bpf_filter)
            except Exception as error:  # pcapy.PcapError: its message says what is wrong
                self._handle.close()
                raise FilterError(f"filter {bpf_filter!r} does not compile: {error}") from error
        self._handle.setnonblock(1)
        self._fd = self._handle.getfd()

    def _open(self, snaplen: int, buffer_bytes: int) -> Any:
        pcapy = _pcapy()
        handle = pcapy.create(self.interface)
        handle.set_snaplen(snaplen)
        handle.set_timeout(WAKE_MS)
        handle.set_buffer_size(buffer_bytes)
        status = handle.activate()
        if status >= 0:
            return handle
        if status in (_PERM_DENIED, _PROMISC_PERM_DENIED):
            raise CapturePermissionError(
                f"capturing on {self.interface} needs the CAP_NET_RAW capability: {grant()}"
            )
        if status == _NO_SUCH_DEVICE:
            raise InterfaceNotFoundError(f"no network interface is named {self.interface!r}")
        if status == _IFACE_NOT_UP:
            raise LiveCaptureError(f"{self.interface} is down: ip link set {self.interface} up")
        try:  # open_live says what went wrong where activate() only gives a code
            pcapy.open_live(self.interface, snaplen, 0, WAKE_MS).close()
        except Exception as error:
            message = str(error)
            if "permission" in message.lower() or "not permitted" in message:
                raise CapturePermissionError(
                    f"capturing on {self.interface} needs the CAP_NET_RAW capability: {grant()}"
                ) from error
            raise LiveCaptureError(f"cannot capture on {self.interface}: {message}") from error
        raise LiveCaptureError(f"cannot capture on {self.interface} (libpcap error {status})")

    def stop(self) -> None:
        """End the iteration (safe from a signal handler or another thread)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def delivered_us(self) -> int:
        """Every packet stamped before this time (microseconds since the epoch) is in a batch
        already yielded: the flow meter may end the flows that such a packet could still join.
        Valid once the batch just yielded is taken; it moves on with the last batch of each read."""
        return self.read_at_us - self.delivery_margin_us

    def stats(self) -> CaptureStats:
        received, dropped, interface_dropped = self._handle.stats()
        return CaptureStats(int(received), int(dropped), int(interface_dropped))

    def __iter__(self) -> Iterator[PacketBatch]:
        # An exception raised into the wait (a signal handler abandoning the read) ends the
        # iteration like stop(); the caller closes the capture.
        wait = min(self.interval, WAKE_MS / 1000)
        while not self._stop.is_set():
            select.select([self._fd], [], [], wait)
            # Whatever is waiting, in as many calls as it takes; then a batch, maybe empty.
            read_at = time.time_ns() // 1000
            batches = []
            while True:
                data, meta = self._handle.next_batch(BATCH_PACKETS)
                if not meta:
                    break
                batches.append(self._decode(data, meta))
                if len(meta) // 16 < BATCH_PACKETS:
                    break
            last = batches.pop() if batches else PacketBatch.empty()
            yield from batches
            # Only with the read's last batch: the packets before `delivered_us` are all out.
            self.read_at_us = read_at
            yield last

    def _decode(self, data: bytes, meta: bytes) -> PacketBatch:
        fields = np.frombuffer(meta, np.uint32).reshape(-1, 4).astype(np.int64)
        n = len(fields)
        caplen = fields[:, 3]
        frames = Frames(
            data=np.frombuffer(data, np.uint8),
            start=fields[:, 2],
            caplen=caplen,
            wirelen=caplen,  # whole packets (SNAPLEN); libpcap's batch does not carry it
            link_type=np.full(n, self.link_type, np.int64),
            time_us=fields[:, 0] * 1_000_000 + fields[:, 1],
            number=np.arange(self._number + 1, self._number + 1 + n, dtype=np.int64),
        )
        self._number += n
        return decode(frames, self.skipped)

    def close(self) -> None:
        """Stop, count the kernel's drops in `skipped` (frames lost before they were read), and
        release the interface."""
        self._stop.set()
        if self._handle is None:
            return
        try:
            stats = self.stats()
        except Exception:  # a handle that never captured has no counters on some systems
            stats = CaptureStats(0, 0, 0)
        if stats.dropped:
            self.skipped[KERNEL_DROPS] += stats.dropped
        if stats.interface_dropped:
            self.skipped[INTERFACE_DROPS] += stats.interface_dropped
        self._handle.close()
        self._handle = None

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def capture(
    interface: str, bpf_filter: str | None = None, skipped: Skipped | None = None
) -> Generator[PacketBatch, None, None]:
    """Batches from `interface` until the generator is closed (or `LiveCapture.stop`); the
    capture opens at the first `next()`, so its errors raise there."""
    with LiveCapture(interface, bpf_filter, skipped=skipped) as live:
        yield from live
