"""A connection's end (the bare flow the meter makes of the packets after a FIN) takes the
verdict of its connection: in one batch or the next, never for a flow with payload or a SYN,
never past the horizon, and memory bounded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from detect.cli import main
from detect.connections import ConnectionVerdicts
from detect.verdicts import Verdicts
from flows.meter import FlowMeter
from flows.packets import ACK, FIN, PSH, SYN
from flows.records import FlowBatch
from tests.detect.test_cli import _lines
from tests.flows.build import Packet, batch, capture

ATTACK_P = [0.9, 0.1]
BENIGN_P = [0.2, 0.8]


def connection(
    at: float, sport: int = 40000, dport: int = 80, *, end: Sequence[Packet] | None = None
) -> list[Packet]:
    """A TCP connection the server closes: the flow ends at the server's FIN, and the client's
    FIN/ACK and the server's last ACK (or `end`) make the connection's end, a flow of its own."""
    c = Packet(at, sport=sport, dport=dport, flags=SYN)
    body = [
        c,
        c.reversed(at + 0.001, flags=SYN | ACK),
        Packet(at + 0.002, sport=sport, dport=dport),
        Packet(at + 0.003, sport=sport, dport=dport, flags=PSH | ACK, payload=80),
        c.reversed(at + 0.004, flags=PSH | ACK, payload=500),
        c.reversed(at + 0.005, flags=FIN | ACK),
    ]
    tail = [
        Packet(at + 0.006, sport=sport, dport=dport, flags=FIN | ACK),
        c.reversed(at + 0.007, flags=ACK),
    ]
    return body + list(tail if end is None else end)


def flows(*packets: Sequence[Packet]) -> list[FlowBatch]:
    """One batch of flows per sequence given; the last batch also holds what the end flushed."""
    meter = FlowMeter()
    out = [meter.add(batch(p)) for p in packets]
    out[-1] = FlowBatch.concat([out[-1], meter.flush()])
    return out


def judged(flows: FlowBatch, labels: list[str]) -> Verdicts:
    probabilities = [ATTACK_P if label == "ATTACK" else BENIGN_P for label in labels]
    return Verdicts(labels, np.array(probabilities, dtype=np.float32).reshape(-1, 2))


def test_a_connections_end_takes_its_verdict() -> None:
    (found,) = flows(connection(0))
    assert len(found) == 2
    assert found.features[1, 0] == 80  # the end's Destination Port: it is the client's flow
    connections = ConnectionVerdicts()
    verdicts, continued = connections.apply(found, judged(found, ["BENIGN", "ATTACK"]))
    assert verdicts.labels == ["BENIGN", "BENIGN"]
    assert verdicts.probabilities[1].tolist() == pytest.approx(BENIGN_P)
    assert continued.rows == [1]
    assert continued.parents == [(found.flow_ids()[0], int(found.start_us[0]))]
    assert (connections.taken, connections.changed) == (1, 1)


def test_an_attacks_end_is_an_attack_too() -> None:
    (found,) = flows(connection(0))
    verdicts, _ = ConnectionVerdicts().apply(found, judged(found, ["ATTACK", "BENIGN"]))
    assert verdicts.labels == ["ATTACK", "ATTACK"]
    assert verdicts.probabilities[1].tolist() == pytest.approx(ATTACK_P)


def test_the_end_in_a_later_batch_finds_its_connection() -> None:
    packets = connection(0)
    first, second = flows(packets[:6], packets[6:])
    assert (len(first), len(second)) == (1, 1)
    connections = ConnectionVerdicts()
    connections.apply(first, judged(first, ["BENIGN"]))
    verdicts, continued = connections.apply(second, judged(second, ["ATTACK"]))
    assert verdicts.labels == ["BENIGN"]
    assert continued.rows == [0]


@pytest.mark.parametrize(
    "end",
    [
        pytest.param(
            [
                Packet(0.006, flags=PSH | ACK, payload=20),
                Packet(0.007, dst="10.0.0.1", src="10.0.0.2", sport=80, dport=40000),
            ],
            id="an end carrying payload",
        ),
        pytest.param(
            [
                Packet(0.006, flags=SYN),
                Packet(
                    0.007, src="10.0.0.2", dst="10.0.0.1", sport=80, dport=40000, flags=SYN | ACK
                ),
            ],
            id="a new connection on the same ports",
        ),
    ],
)
def test_flows_with_something_to_judge_keep_the_models_verdict(end: list[Packet]) -> None:
    (found,) = flows(connection(0, end=end))
    assert len(found) == 2
    verdicts, continued = ConnectionVerdicts().apply(found, judged(found, ["BENIGN", "ATTACK"]))
    assert verdicts.labels == ["BENIGN", "ATTACK"]
    assert continued.rows == []


def test_an_end_without_its_connection_keeps_the_models_verdict() -> None:
    (found,) = flows(connection(0)[6:])  # the capture began after the FIN
    verdicts, continued = ConnectionVerdicts().apply(found, judged(found, ["ATTACK"]))
    assert verdicts.labels == ["ATTACK"]
    assert continued.rows == []


def test_an_end_past_the_horizon_keeps_the_models_verdict() -> None:
    packets = connection(0)
    first, second = flows(packets[:6], [*packets[6:7], packets[7]])
    connections = ConnectionVerdicts(horizon_us=1_000)  # 1 ms: the end begins 1 ms after the FIN
    connections.apply(first, judged(first, ["BENIGN"]))
    verdicts, _ = connections.apply(second, judged(second, ["ATTACK"]))
    assert verdicts.labels == ["ATTACK"]


def test_memory_is_bounded_by_the_connections_remembered() -> None:
    packets = [p for port in range(40000, 40010) for p in connection(0, sport=port)[:6]]
    (found,) = flows(packets)
    connections = ConnectionVerdicts(remembered=3)
    connections.apply(found, judged(found, ["BENIGN"] * len(found)))
    assert len(connections.ended) == 3
    # the three last ended are the ones remembered
    assert sorted(key[3] for key in connections.ended) == [40007, 40008, 40009]


def test_detect_judges_a_connections_end_as_its_connection(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The `ports` model calls a flow to a port below 1024 an attack: the connection goes to
    # port 8080 (BENIGN); the server's FIN is sent twice (the client's ACK was lost), so the
    # connection's end begins with the server's packet to the client's port 1000 (ATTACK, for
    # the model alone): the false alert a bare connection end makes.
    c = Packet(0, sport=1000, dport=8080, flags=SYN)
    end = [c.reversed(0.2, flags=FIN | ACK), Packet(0.201, sport=1000, dport=8080)]
    pcap = tmp_path / "one.pcap"
    pcap.write_bytes(capture(connection(0, sport=1000, dport=8080, end=end)))
    common = [str(pcap), "--artifacts", str(repository), "--model", "ports", "-q"]

    assert main([*common, "--alerts", str(tmp_path / "a.jsonl")]) == 0
    stderr = capsys.readouterr().err
    assert (tmp_path / "a.jsonl").read_text() == ""
    assert "1 connection ends took their connection's verdict (1 unlike the model's" in stderr

    assert main([*common, "--per-flow", "--alerts", str(tmp_path / "b.jsonl")]) == 0
    (alert,) = _lines(tmp_path / "b.jsonl")
    assert (alert["src_port"], alert["dest_port"]) == (8080, 1000)
    assert "verdict_of" not in alert["ids_inference"]


def test_an_alert_on_a_connections_end_names_its_connection(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcap = tmp_path / "one.pcap"
    pcap.write_bytes(capture(connection(0, sport=40000, dport=80)))
    out = tmp_path / "a.jsonl"
    status = main(
        [str(pcap), "--artifacts", str(repository), "--model", "ports", "--alerts", str(out)]
    )
    assert status == 0, capsys.readouterr().err
    connection_alert, end_alert = _lines(out)
    assert "verdict_of" not in connection_alert["ids_inference"]
    assert end_alert["ids_inference"]["verdict_of"] == {
        "flow_id": connection_alert["flow_id"],
        "flow": connection_alert["ids_inference"]["flow"],
    }
