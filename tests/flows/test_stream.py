"""A live flow stream ends a flow by its timeout as soon as the capture has delivered every packet
that could still join it (`delivered_us`), and not before: the flows are a file's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from flows.packets import UDP, PacketBatch
from flows.records import FlowBatch
from flows.stream import FlowStream
from tests.flows.build import T0_US, Packet, batch, capture

TIMEOUT_US = 10_000_000
EXCHANGE = Packet(0, sport=5353, dport=53, protocol=UDP, payload=20)
# A UDP exchange, one more packet just before its timeout, and one of the same conversation
# after it (which starts a flow of its own).
PACKETS = (
    EXCHANGE,
    EXCHANGE.reversed(0.001),
    EXCHANGE.reversed(9.9),
    EXCHANGE.reversed(12.0),
    EXCHANGE.reversed(12.5),
)


class Capture:
    """Batches of packets, each handed over with how far the capture had then delivered (seconds
    after T0), as `flows.live.LiveCapture` says it."""

    def __init__(self, reads: Sequence[tuple[Sequence[Packet], float]]) -> None:
        self.reads = reads
        self.delivered_us = T0_US
        self.read = -1  # the read whose batch was handed over last (-1: none yet)

    def __iter__(self) -> Iterator[PacketBatch]:
        for read, (packets, delivered) in enumerate(self.reads):
            self.read = read
            self.delivered_us = T0_US + round(delivered * 1_000_000)
            yield batch(packets) if packets else PacketBatch.empty()
        self.read = len(self.reads)  # the end of the input


def _live(reads: Sequence[tuple[Sequence[Packet], float]]) -> list[tuple[int, FlowBatch]]:
    """The flows of a live stream over `reads`, each with the read that made the stream yield
    them (`len(reads)`: the end of the input)."""
    source = Capture(reads)
    stream = FlowStream(source, live=True, meter={"flow_timeout_us": TIMEOUT_US})
    return [(source.read, flows) for flows in stream]


@pytest.mark.parametrize(
    ("reads", "written_at"),
    [
        pytest.param(
            [
                (PACKETS[:2], 0.2),
                ((), 5.0),
                (PACKETS[2:3], 9.95),
                ((), 10.0),  # the timeout is not past: a packet stamped 10.0 would still join
                ((), 10.000001),
                (PACKETS[3:], 13.0),
            ],
            4,
            id="written by the first read past the timeout",
        ),
        pytest.param(
            # The packet stamped 9.9 is handed over late, with a read that has delivered past
            # the timeout: it is metered before the flow is ended, and joins it.
            [(PACKETS[:2], 0.2), ((), 9.85), (PACKETS[2:3], 10.5), (PACKETS[3:], 13.0)],
            2,
            id="a packet handed over late still joins its flow",
        ),
    ],
)
def test_a_live_flow_ends_once_its_timeout_is_delivered(
    tmp_path: Path, reads: list[tuple[Sequence[Packet], float]], written_at: int
) -> None:
    written = _live(reads)
    # The exchange is written with read `written_at`, while the input goes on; the flow that
    # the later packets start, at the end of the input.
    assert [(read, len(flows)) for read, flows in written] == [(written_at, 1), (len(reads), 1)]
    live = FlowBatch.concat([flows for _, flows in written])
    path = tmp_path / "same.pcap"
    path.write_bytes(capture(PACKETS))
    from_file = FlowBatch.concat(list(FlowStream(path, meter={"flow_timeout_us": TIMEOUT_US})))
    assert len(live) == len(from_file) == 2
    np.testing.assert_array_equal(live.features, from_file.features)
    np.testing.assert_array_equal(live.start_us, from_file.start_us)


def test_a_packet_later_than_the_capture_promised_is_counted() -> None:
    # Delivered past the timeout (10.5 s), then a packet stamped 9.9 s: its flow has ended.
    source = Capture([(PACKETS[:2], 0.2), ((), 10.5), (PACKETS[2:3], 10.6)])
    stream = FlowStream(source, live=True, meter={"flow_timeout_us": TIMEOUT_US})
    list(stream)
    assert stream.counts.late_packets == 1
