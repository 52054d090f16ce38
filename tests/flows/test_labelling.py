"""Labelling a recording's flows from what its user knows (`flows.labelling`, `flows --label`)."""

from __future__ import annotations

import csv
import ipaddress
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from flows.cli import main
from flows.labelling import Endpoint, LabelRuleError, Rule, label_flows, parse_time
from flows.records import FlowBatch


def _batch(flows: list[tuple[str, int, str, int, int]]) -> FlowBatch:
    """(source, source port, destination, destination port, start in seconds) per flow."""
    columns: dict[str, list[int]] = {
        name: [] for name in ("family", "src_hi", "src_lo", "dst_hi", "dst_lo")
    }
    for src, _, dst, _, _ in flows:
        a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        columns["family"].append(a.version)
        columns["src_hi"].append(int(a) >> 64)
        columns["src_lo"].append(int(a) & ((1 << 64) - 1))
        columns["dst_hi"].append(int(b) >> 64)
        columns["dst_lo"].append(int(b) & ((1 << 64) - 1))
    n = len(flows)
    return FlowBatch(
        family=np.array(columns["family"], np.uint8),
        src_hi=np.array(columns["src_hi"], np.uint64),
        src_lo=np.array(columns["src_lo"], np.uint64),
        dst_hi=np.array(columns["dst_hi"], np.uint64),
        dst_lo=np.array(columns["dst_lo"], np.uint64),
        src_port=np.array([f[1] for f in flows], np.int64),
        dst_port=np.array([f[3] for f in flows], np.int64),
        protocol=np.full(n, 6, np.int64),
        start_us=np.array([f[4] * 1_000_000 for f in flows], np.int64),
        features=np.zeros((n, 78)),
    )


FLOWS = _batch(
    [
        ("10.0.0.5", 40000, "10.0.0.9", 22, 100),  # attacker -> victim, port 22
        ("10.0.0.9", 22, "10.0.0.5", 40001, 101),  # the victim's side first: still the attack
        ("10.0.0.5", 40002, "10.0.0.9", 8080, 102),  # a port the rule does not name
        ("10.0.0.6", 40003, "10.0.0.9", 22, 103),  # another host
        ("10.0.0.5", 40004, "10.0.0.9", 22, 500),  # after the window
        ("fd00::5", 40005, "fd00::9", 443, 104),  # IPv6
    ]
)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param(
            [Rule.parse("SSH-Patator", ["10.0.0.5"], ["10.0.0.9:22"])],
            ["SSH-Patator", "SSH-Patator", "BENIGN", "BENIGN", "SSH-Patator", "BENIGN"],
            id="attacker and victim port, either direction",
        ),
        pytest.param(
            [Rule.parse("ATTACK", ["10.0.0.0/24"], ["10.0.0.9"], "100", "200")],
            ["ATTACK", "ATTACK", "ATTACK", "ATTACK", "BENIGN", "BENIGN"],
            id="a network, any port, a time window",
        ),
        pytest.param(
            [
                Rule.parse("BENIGN", ["10.0.0.6"], []),
                Rule.parse("PortScan", [], ["10.0.0.9:1-1024,8080"]),
            ],
            ["PortScan", "PortScan", "PortScan", "BENIGN", "PortScan", "BENIGN"],
            id="the first matching rule wins",
        ),
        pytest.param(
            [Rule.parse("ATTACK", ["fd00::/64"], ["[fd00::9]:443"])],
            ["BENIGN"] * 5 + ["ATTACK"],
            id="IPv6",
        ),
        pytest.param([Rule.parse("BENIGN", [], [])], ["BENIGN"] * 6, id="all benign"),
    ],
)
def test_rules_label_flows(rules: list[Rule], expected: list[str]) -> None:
    assert label_flows(FLOWS, rules) == expected


@pytest.mark.parametrize(
    ("text", "network", "ports"),
    [
        pytest.param("127.0.0.2", "127.0.0.2/32", (), id="an address"),
        pytest.param("10.1.0.0/16", "10.1.0.0/16", (), id="a network"),
        pytest.param(
            "127.0.0.2:1-1024,8080", "127.0.0.2/32", ((1, 1024), (8080, 8080)), id="ports"
        ),
        pytest.param("[::1]:443", "::1/128", ((443, 443),), id="IPv6 with a port"),
        pytest.param("fe80::/10", "fe80::/10", (), id="an IPv6 network"),
    ],
)
def test_endpoints(text: str, network: str, ports: tuple[tuple[int, int], ...]) -> None:
    endpoint = Endpoint.parse(text)
    assert str(endpoint.network) == network
    assert endpoint.ports == ports


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: Endpoint.parse("host.example"), "not an address", id="a name"),
        pytest.param(lambda: Endpoint.parse("127.0.0.2:80-70"), "lowest", id="a reversed range"),
        pytest.param(lambda: Endpoint.parse("127.0.0.2:http"), "ports must be", id="a port name"),
        pytest.param(lambda: parse_time("yesterday"), "not a time", id="a time"),
        pytest.param(lambda: Rule.parse("Malware", [], []), "unknown label", id="a label"),
        pytest.param(
            lambda: Rule.parse("ATTACK", [], [], "200", "100"), "before --from", id="a window"
        ),
    ],
)
def test_bad_rules_say_what_is_wrong(call: object, message: str) -> None:
    with pytest.raises(LabelRuleError, match=message):
        call()  # type: ignore[operator]


def test_iso_times_are_local_unless_they_say() -> None:
    assert parse_time("1970-01-01T00:00:10+00:00") == 10_000_000
    assert parse_time("86400.5") == 86_400_500_000


def test_the_command_writes_a_label_column(tmp_path: Path, pcaps_dir: Path) -> None:
    out = tmp_path / "scan.csv"
    status = main(
        [
            str(pcaps_dir / "portscan.pcap"),
            "-o",
            str(out),
            "-q",
            "--label",
            "PortScan",
            "--attacker",
            "127.0.0.1",
            "--victim",
            "127.0.0.2:1-500",
        ]
    )
    assert status == 0
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[-1] == "Label"
    assert Counter(row["Label"] for row in rows) == {"PortScan": 500, "BENIGN": 500}
    assert all((int(r["Destination Port"]) <= 500) == (r["Label"] == "PortScan") for r in rows)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--attacker", "127.0.0.1"], id="an endpoint before any --label"),
        pytest.param(
            ["--label", "ATTACK", "--from", "1", "--from", "2"], id="a window given twice"
        ),
        pytest.param(["--label", "Malware"], id="an unknown label"),
        pytest.param(["--label", "ATTACK", "--victim", "nowhere"], id="a bad address"),
    ],
)
def test_bad_labelling_options_are_refused(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["x.pcap", "-o", str(tmp_path / "x.csv"), *argv])
    assert stopped.value.code == 2
    assert not (tmp_path / "x.csv").exists()
