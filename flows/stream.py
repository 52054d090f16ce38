"""Flows from capture files or a stream of packet batches: the flow room's Python entry point.

    for batch in read_flows(["monday.pcap"]):
        batch.features  # float64 [n, 78], models.features.FEATURE_NAMES order

Each file is metered on its own, as the reference does (a flow never spans two files), and its
open flows are written at its end. A stream of `PacketBatch`es (a live capture) is one input:
with `live=True` flows also end by the clock, so a quiet flow is written once its timeout has
passed, without waiting for a packet: as soon as no packet that could join it can still be on its
way, which a `flows.live.LiveCapture` knows (`delivered_us`); for other streams, 2 s after.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Protocol, runtime_checkable

from flows.capture import read_packets
from flows.errors import CaptureError
from flows.meter import FlowMeter, MeterCounts
from flows.packets import PacketBatch, Skipped
from flows.records import FlowBatch

# For a live stream that cannot say how far it has delivered (not a `Delivering` one): packets
# reach the meter this long after their capture time, at most, so a flow is expired by the wall
# clock only this long after its timeout, once no packet still on its way can belong to it.
LIVE_DELIVERY_SLACK_US = 2_000_000

Source = str | Path
FILE_EMIT_EVERY = 8192


@runtime_checkable
class Delivering(Protocol):
    """A live source of packet batches that knows how far it has delivered: every packet
    stamped before `delivered_us` (microseconds since the epoch) is in a batch already yielded
    (`flows.live.LiveCapture`)."""

    @property
    def delivered_us(self) -> int: ...


class FlowStream:
    """Iterate to get `FlowBatch`es; `stop()` (from a signal handler, say) ends the input early,
    and the open flows are still written. `counts` and `skipped` add up over every input; a
    file that cannot be read to its end adds its `CaptureError` to `errors` after its flows up to
    the damage, and the next file is read."""

    def __init__(
        self,
        sources: Source | Iterable[Source] | Iterable[PacketBatch],
        *,
        live: bool = False,
        meter: dict[str, int] | None = None,
        skipped: Skipped | None = None,
    ) -> None:
        if isinstance(sources, str | Path):
            sources = [sources]
        self._sources = sources
        self.live = live
        self._delivering = sources if live and isinstance(sources, Delivering) else None
        self._meter_options = meter or {}
        self.counts = MeterCounts()
        self.skipped = Skipped() if skipped is None else skipped  # a live capture counts here
        self.current: FlowMeter | None = None
        self.errors: list[CaptureError] = []
        self._stopping = False
        self._reading = False

    def stop(self) -> None:
        """End the input at the next batch; open flows are then written as at its end.

        Safe to call from a signal handler: when the input is blocked in a read (a pipe, a
        quiet capture), the read is abandoned; a batch already read is metered whole.
        """
        self._stopping = True
        if self._reading:
            raise _Stopped

    @property
    def stopping(self) -> bool:
        return self._stopping

    def packets_read(self, seconds: float) -> str:
        """`1,001 frames read in 0.2 s: 1,000 IP packets metered, 1 skipped (reason 1)`: the
        closing line of every command that meters packets; a live capture's drops count as
        skipped once it is closed."""
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in self.skipped.most_common())
        packets = self.counts.packets
        return (
            f"{packets + skipped:,} frames read in {seconds:.1f} s: {packets:,} IP packets "
            f"metered, {skipped:,} skipped" + (f" ({reasons})" if reasons else "")
        )

    def __iter__(self) -> Iterator[FlowBatch]:
        sources = iter(self._sources)
        for source in sources:
            if isinstance(source, PacketBatch):
                yield from self._meter(_chain(source, sources))  # type: ignore[arg-type]
                return
            yield from self._meter(read_packets(source, self.skipped))
            if self._stopping:
                return

    def _meter(self, batches: Iterator[PacketBatch] | Iterable[PacketBatch]) -> Iterator[FlowBatch]:
        # A file's flows are written in batches of thousands; live ones as they end.
        options = {"emit_every": 0 if self.live else FILE_EMIT_EVERY, **self._meter_options}
        meter = self.current = FlowMeter(**options)
        iterator = iter(batches)
        try:
            while not self._stopping:
                try:
                    self._reading = True
                    batch = next(iterator)
                except (StopIteration, _Stopped):
                    break
                finally:
                    self._reading = False
                flows = meter.add(batch)
                if self.live:
                    flows = FlowBatch.concat([flows, meter.expire(self._delivered_us())])
                if len(flows):
                    yield flows
        except CaptureError as error:
            self.errors.append(error)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        flows = meter.flush()
        _add_counts(self.counts, meter.counts)
        if len(flows):
            yield flows

    def _delivered_us(self) -> int:
        """A time before which every packet of the input has reached the meter."""
        if self._delivering is not None:
            return self._delivering.delivered_us
        return time.time_ns() // 1000 - LIVE_DELIVERY_SLACK_US


class _Stopped(BaseException):  # not caught by a reader's `except Exception`
    """Raised into a blocked read by `FlowStream.stop`."""


def _chain(
    first: PacketBatch, rest: Iterator[Source] | Iterator[PacketBatch]
) -> Iterator[PacketBatch]:
    yield first
    for batch in rest:
        if not isinstance(batch, PacketBatch):
            raise TypeError(f"a stream of packet batches holds a {type(batch).__name__}")
        yield batch


def _add_counts(total: MeterCounts, more: MeterCounts) -> None:
    for field in fields(MeterCounts):
        value = getattr(more, field.name)
        if isinstance(value, dict):
            target = getattr(total, field.name)
            for key, count in value.items():
                target[key] = target.get(key, 0) + count
        else:
            setattr(total, field.name, getattr(total, field.name) + value)


def read_flows(
    sources: Source | Iterable[Source] | Iterable[PacketBatch], *, live: bool = False
) -> Iterator[FlowBatch]:
    """Flows of capture files (each on its own) or of one stream of packet batches, as they end."""
    return iter(FlowStream(sources, live=live))
