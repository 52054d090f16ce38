"""Every CICFlowMeter behaviour the meter reproduces, one named test each, on hand-built packets.

The expected values are the reference's: `test_the_reference_agrees` writes each case's packets
as a capture, runs `cfm` on all of them (one JVM), and compares every feature of every flow with
the meter's on the same packets. `docs/flows.md` lists these tests beside the Java they follow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from flows.meter import FlowMeter
from flows.packets import ACK, FIN, PSH, RST, SYN, UDP, URG
from tests.flows.build import A, B, Flow, Packet, batch, capture, meter
from tests.flows.parity import differences, reference_flows
from tests.flows.reference import cfm_path, run_cfm_folder

# Each case: the packets of each `FlowMeter.add` call (the capture holds them all, in order).
CASES: dict[str, tuple[Sequence[Packet], ...]] = {}


def case(name: str, *batches: Sequence[Packet]) -> list[Flow]:
    CASES[name] = batches
    return meter(*batches)


def one(flows: list[Flow]) -> Flow:
    assert len(flows) == 1, [f.flow_id for f in flows]
    return flows[0]


FIRST_TWICE = (
    Packet(0, flags=PSH | ACK, payload=100),
    Packet(0, flags=ACK).reversed(0.001, payload=300),
    Packet(0.002, payload=0),
)


def test_first_packet_payload_counts_twice_in_packet_lengths() -> None:
    # BasicFlow.firstPacket adds the payload to flowLengthStats, then again as a forward packet.
    flow = one(case("first packet twice", FIRST_TWICE))
    assert flow["Min Packet Length"] == 0
    assert flow["Max Packet Length"] == 300
    assert flow["Packet Length Mean"] == 125.0  # (100 + 100 + 300 + 0) / 4
    assert flow["Packet Length Variance"] == pytest.approx(47500 / 3, rel=1e-12)
    assert flow["Average Packet Size"] == pytest.approx(500 / 3, rel=1e-12)  # divided by 3
    assert flow["Fwd Packet Length Mean"] == 50.0  # the direction's own statistics: once
    assert flow["Total Length of Fwd Packets"] == 100


def test_act_data_pkt_fwd_skips_the_first_packet() -> None:
    packets = (Packet(0, payload=10), Packet(0.001, payload=10), Packet(0.002).reversed(0.002))
    flow = one(case("act_data_pkt_fwd", packets))
    assert flow["Total Fwd Packets"] == 2
    assert flow["act_data_pkt_fwd"] == 1


def test_psh_and_urg_flags_of_the_first_packet_only() -> None:
    first = Packet(0, flags=PSH | URG | ACK, payload=1)
    later = Packet(0, sport=40001, flags=ACK)
    packets = (
        first,
        first.reversed(0.001, flags=PSH | ACK, payload=5),
        Packet(0.002, flags=PSH | ACK, payload=5),
        later,
        later.reversed(0.001, flags=PSH | URG | ACK, payload=5),
        Packet(0.002, sport=40001, flags=PSH | URG | ACK, payload=5),
    )
    flows = {f["Fwd PSH Flags"]: f for f in case("PSH and URG", packets)}
    flagged, plain = flows[1], flows[0]
    assert flagged["Fwd URG Flags"] == 1
    assert plain["Fwd URG Flags"] == 0  # later forward PSH and URG packets do not count
    for flow in (flagged, plain):
        assert flow["Bwd PSH Flags"] == flow["Bwd URG Flags"] == 0
    # The flag counters see every packet.
    assert (flagged["PSH Flag Count"], flagged["URG Flag Count"]) == (3, 1)
    assert (plain["PSH Flag Count"], plain["URG Flag Count"]) == (2, 2)


def test_init_win_bytes_backward_is_the_last_backward_window() -> None:
    packets = (
        Packet(0, window=1000),
        Packet(0).reversed(0.001, window=2000),
        Packet(0).reversed(0.002, window=3000),
        Packet(0.003, window=4000),
    )
    flow = one(case("Init_Win_bytes_backward", packets))
    assert flow["Init_Win_bytes_forward"] == 1000
    assert flow["Init_Win_bytes_backward"] == 3000


def test_min_seg_size_forward_is_the_smallest_forward_header() -> None:
    packets = (Packet(0, options=12), Packet(0).reversed(0.001), Packet(0.002, options=4))
    flow = one(case("min_seg_size_forward", packets))
    assert flow["min_seg_size_forward"] == 24
    assert flow["Fwd Header Length"] == flow["Fwd Header Length.1"] == 32 + 24
    assert flow["Bwd Header Length"] == 20


def test_every_packet_goes_through_the_backward_bulk_state() -> None:
    # updateFlowBulk compares byte arrays with ==, which never holds for getSrc()'s copy.
    run = [Packet(0.1 * i, payload=100) for i in range(5)]
    broken = [Packet(2.0 + 0.1 * i, payload=50) for i in range(3)]  # after 1.6 s: a new run
    packets = (*run, Packet(0).reversed(0.5), *broken)
    flow = one(case("bulk", packets))
    assert flow["Fwd Avg Bytes/Bulk"] == flow["Fwd Avg Packets/Bulk"] == 0
    assert flow["Fwd Avg Bulk Rate"] == 0
    assert flow["Bwd Avg Bytes/Bulk"] == 500  # forward packets, in the backward features
    assert flow["Bwd Avg Packets/Bulk"] == 5
    assert flow["Bwd Avg Bulk Rate"] == 1250  # (long)(500 / 0.4 s)


def test_bulk_runs_of_both_directions_join() -> None:
    packets = (
        Packet(0, payload=10),
        Packet(0).reversed(0.2, payload=1000),
        Packet(0.4, payload=10),
        Packet(0).reversed(0.6, payload=1000),
        Packet(0.8, payload=10),
        Packet(0).reversed(1.1, payload=1000),
    )
    flow = one(case("bulk of both directions", packets))
    assert flow["Bwd Avg Packets/Bulk"] == 6
    assert flow["Bwd Avg Bytes/Bulk"] == 3030
    assert flow["Bwd Avg Bulk Rate"] == 2754  # (long)(3030 / 1.1 s)


def test_subflows_divide_by_the_gaps_over_one_second() -> None:
    packets = (
        Packet(0, payload=10),
        Packet(0).reversed(0.5, payload=20),
        Packet(2.0, payload=30),  # 1.5 s: a subflow ends
        Packet(0).reversed(2.1, payload=40),
        Packet(4.0, payload=50),  # 1.9 s
        Packet(5.0, payload=10),  # exactly 1 s: no
    )
    quiet = (Packet(0, sport=40001, payload=10), Packet(0, sport=40001).reversed(0.5))
    flows = {f["Subflow Fwd Packets"]: f for f in case("subflows", packets, quiet)}
    counted = flows[2]  # 4 forward packets / 2
    assert counted["Subflow Fwd Bytes"] == 50  # 100 // 2
    assert counted["Subflow Bwd Packets"] == 1
    assert counted["Subflow Bwd Bytes"] == 30
    none = flows[0]  # no gap over 1 s: 0, not the totals
    assert none["Subflow Fwd Bytes"] == none["Subflow Bwd Packets"] == 0
    assert none["Total Fwd Packets"] == 1


def test_active_and_idle_periods_split_at_five_seconds() -> None:
    packets = (
        Packet(0),
        Packet(0).reversed(1),
        Packet(7),  # idle 6 s after 1 s active
        Packet(0).reversed(7.5),
        Packet(20),  # idle 12.5 s after 0.5 s active
        Packet(26),  # idle 6 s after an active period of 0 s, which is not recorded
    )
    flow = one(case("active and idle", packets))
    assert flow["Active Mean"] == 750_000
    assert flow["Active Max"] == 1_000_000
    assert flow["Active Min"] == 500_000
    assert flow["Active Std"] == pytest.approx(math.sqrt(2 * 250_000**2), rel=1e-12)
    assert flow["Idle Max"] == 12_500_000
    assert flow["Idle Min"] == 6_000_000
    assert flow["Idle Mean"] == pytest.approx(24_500_000 / 3, rel=1e-12)


def test_forward_fin_never_ends_the_flow_and_a_second_is_dropped() -> None:
    # FlowGenerator tests getBwdFINFlags() + getBwdFINFlags() == 2 for a forward FIN.
    packets = (
        Packet(0, flags=SYN),
        Packet(0, flags=SYN | ACK).reversed(0.001),
        Packet(0.002, flags=FIN | ACK),
        Packet(0.003, flags=FIN | ACK, payload=7),  # the second forward FIN: ignored
        Packet(0).reversed(0.004),
    )
    flow_meter = FlowMeter()
    flows = case("forward FIN", packets)
    flow_meter.add(batch(packets))
    flow_meter.flush()
    flow = one(flows)
    assert flow["Total Fwd Packets"] == 2
    assert flow["Total Backward Packets"] == 2
    assert flow["FIN Flag Count"] == 1
    assert flow["Total Length of Fwd Packets"] == 0
    assert flow_meter.counts.repeated_fins == 1
    assert flow_meter.counts.ended["end"] == 1


def test_backward_fin_ends_the_flow_and_the_next_packet_opens_one() -> None:
    packets = (
        Packet(0, flags=SYN),
        Packet(0, flags=SYN | ACK).reversed(0.001),
        Packet(0, flags=FIN | ACK).reversed(0.002),
        Packet(0).reversed(0.003),  # the next flow's source is this packet's: B
        Packet(0.004),
    )
    ended, after = case("backward FIN", packets)
    assert ended.flow_id == f"{A}-{B}-40000-80-6"
    assert (ended["Total Fwd Packets"], ended["Total Backward Packets"]) == (1, 2)
    assert ended["FIN Flag Count"] == 1
    assert after.flow_id == f"{B}-{A}-80-40000-6"
    assert after["Destination Port"] == 40000
    assert (after["Total Fwd Packets"], after["Total Backward Packets"]) == (1, 1)


def test_rst_ends_the_flow_but_not_as_its_first_packet() -> None:
    packets = (
        Packet(0, flags=RST),
        Packet(0).reversed(0.001),
        Packet(0.002, flags=RST | ACK),
        Packet(0).reversed(0.003),  # opens a flow of one packet: never written
    )
    flow = one(case("RST", packets))
    assert flow["RST Flag Count"] == 2
    assert flow["Total Fwd Packets"] + flow["Total Backward Packets"] == 3


def test_timeout_keeps_the_old_flows_source_and_counts_the_packet_forward() -> None:
    packets = (
        Packet(0, payload=10, window=1000),
        Packet(0).reversed(1, payload=20, window=2000),
        Packet(0).reversed(121.5, payload=30, window=3000),  # more than 120 s after the start
        Packet(122, payload=40, window=4000),
    )
    old, new = case("timeout", packets)
    assert old.flow_id == new.flow_id == f"{A}-{B}-40000-80-6"
    assert old["Flow Duration"] == 1_000_000
    assert new["Total Fwd Packets"] == 2  # B's packet first, then A's
    assert new["Total Backward Packets"] == 0
    assert new["Init_Win_bytes_forward"] == 3000
    assert new["Destination Port"] == 80


def test_timeout_is_strictly_more_than_120_seconds() -> None:
    packets = (Packet(0), Packet(0).reversed(120))
    flow = one(case("timeout at 120 s", packets))
    assert flow["Flow Duration"] == 120_000_000


def test_flows_of_one_packet_are_never_written() -> None:
    packets = (
        Packet(0, sport=1, flags=SYN),
        Packet(0.1, sport=2, flags=SYN),
        Packet(0.2, sport=3),
        Packet(130.5, sport=3),  # times out a flow of one packet, opens another
    )
    flow_meter = FlowMeter()
    flows = case("single packets", packets)
    flow_meter.add(batch(packets))
    flow_meter.flush()
    assert flows == []
    assert flow_meter.counts.single_packet_flows == 4


def test_ip_packets_without_tcp_or_udp_are_protocol_0_flows() -> None:
    icmp = Packet(0, protocol=1, payload=56)
    flow = one(case("protocol 0", (icmp, icmp.reversed(0.001), Packet(0.002, protocol=1))))
    assert flow.flow_id == f"{A}-{B}-0-0-0"
    assert flow["Destination Port"] == 0
    assert flow["Total Fwd Packets"] == 2
    assert flow["Total Length of Fwd Packets"] == 0
    assert flow["Fwd Header Length"] == 0


def test_a_flow_of_zero_duration_has_infinite_or_nan_rates() -> None:
    data = (Packet(0, payload=10), Packet(0).reversed(0))
    empty = (Packet(0, sport=40001), Packet(0, sport=40001).reversed(0))
    flows = {f["Total Length of Fwd Packets"]: f for f in case("zero duration", data, empty)}
    assert flows[10]["Flow Bytes/s"] == math.inf
    assert flows[10]["Flow Packets/s"] == math.inf
    assert math.isnan(flows[0]["Flow Bytes/s"])  # 0 / 0
    assert flows[0]["Fwd Packets/s"] == flows[0]["Bwd Packets/s"] == 0


def test_down_up_ratio_is_an_integer_division() -> None:
    more_back = (Packet(0), *(Packet(0).reversed(0.001 * i) for i in range(1, 4)), Packet(0.01))
    fewer_back = (Packet(0, sport=1), Packet(0.01, sport=1), Packet(0, sport=1).reversed(0.02))
    flows = case("Down/Up Ratio", more_back, fewer_back)
    assert sorted(f["Down/Up Ratio"] for f in flows) == [0.0, 1.0]  # 3 // 2 and 1 // 2


def test_a_conversation_with_itself_is_all_forward() -> None:
    # Direction compares source addresses only: both ends of 10.0.0.1:40000 <-> 10.0.0.1:80.
    packets = (
        Packet(0, dst=A, flags=SYN),
        Packet(0, dst=A, flags=SYN | ACK).reversed(0.001),
        Packet(0, dst=A, flags=FIN | ACK).reversed(0.002),  # forward, so it does not end it
        Packet(0.003, dst=A),
    )
    flow = one(case("same address", packets))
    assert flow["Total Fwd Packets"] == 4
    assert flow["Total Backward Packets"] == 0


def test_udp_flows_have_no_flags_or_windows() -> None:
    query = Packet(0, protocol=UDP, dport=53, payload=40)
    flow = one(case("UDP", (query, query.reversed(0.01, payload=120))))
    assert flow.flow_id == f"{A}-{B}-40000-53-17"
    assert flow["Fwd Header Length"] == flow["min_seg_size_forward"] == 8
    assert flow["Init_Win_bytes_forward"] == flow["ACK Flag Count"] == 0


def test_a_flow_expired_by_the_clock_keeps_its_orientation() -> None:
    # The packet clock writes a flow once its timeout has passed; the conversation's next flow
    # still takes the old source, as the reference's timeout does.
    first = (Packet(0, payload=10), Packet(0).reversed(1), Packet(140, sport=9, dport=9))
    later = (Packet(0).reversed(141, payload=5), Packet(142))
    flows = case("expired by the clock", first, later)
    assert [f.flow_id for f in flows] == [f"{A}-{B}-40000-80-6"] * 2
    assert flows[1]["Total Fwd Packets"] == 2


def test_ipv6_flows_follow_the_ipv4_rules() -> None:
    # The reference reads no IPv6 (Cmd: readIP6 = false); ours meters it as IPv4, in microseconds.
    start = Packet(0, src="fe80::1", dst="fe80::2", flags=SYN)
    last = Packet(0.0005, src="fe80::1", dst="fe80::2")
    packets = (start, start.reversed(0.000250, flags=SYN | ACK), last)
    flow = one(meter(packets))
    assert flow.flow_id == "fe80::1-fe80::2-40000-80-6"
    assert flow["Flow Duration"] == 500
    assert flow["SYN Flag Count"] == 2


# The tests above, each of which records its case in CASES when it runs.
_QUIRK_TESTS = [test for name, test in dict(globals()).items() if name.startswith("test_")]


@pytest.fixture(scope="module")
def reference_csvs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case's packets as a capture, through the reference once."""
    cfm_path()
    for test in _QUIRK_TESTS:
        test()
    folder = tmp_path_factory.mktemp("quirks")
    for i, batches in enumerate(CASES.values()):
        packets = [p for packets in batches for p in packets]
        (folder / "pcaps").mkdir(exist_ok=True)
        (folder / "pcaps" / f"case{i}.pcap").write_bytes(capture(packets))
    run_cfm_folder(folder / "pcaps", folder / "out")
    return folder / "out"


def test_the_reference_agrees(reference_csvs: Path) -> None:
    for i, (name, batches) in enumerate(CASES.items()):
        ours = meter(*batches)
        csv_path = reference_csvs / f"case{i}.pcap_Flow.csv"
        theirs = reference_flows(csv_path) if csv_path.exists() else []
        assert not differences(ours, theirs), (name, differences(ours, theirs))
