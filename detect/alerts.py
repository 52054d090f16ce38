"""Alerts as Suricata writes them in EVE JSON, one line per flow a model did not judge BENIGN.

Field names and formats follow Suricata's EVE JSON format
(https://docs.suricata.io/en/latest/output/eve/eve-json-format.html): `timestamp` in local time
with its UTC offset (`2017-04-07T22:24:37.251547+0100`), `flow_id` an integer, `event_type`
`alert`, the 5-tuple (`src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto` as `TCP`/`UDP`),
an `alert` object (`action`, `gid`, `signature_id`, `rev`, `signature`, `category`, `severity`)
and a `flow` object (packets each way, start). What the model said sits in an object of its
own, `ids_inference`, so no EVE field changes meaning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

import orjson

from detect.categories import category
from detect.connections import Continuations
from detect.verdicts import Verdicts
from flows.records import FlowBatch
from models.features import FEATURE_NAMES
from models.labels import BENIGN, CANONICAL_LABELS

# EVE's flow_id is a number; JSON readers that hold numbers as doubles (JavaScript, jq) keep
# integers exact up to 2**53, so the id is 53 bits of a hash of the flow's identity.
FLOW_ID_MASK = (1 << 53) - 1
PROTOCOLS = {6: "TCP", 17: "UDP"}  # Suricata writes other protocols as their number
# A signature id per class (the rule id an EVE reader keys on), in a range of their own.
SIGNATURE_BASE = 9_100_000
SIGNATURE_IDS = {label: SIGNATURE_BASE + i for i, label in enumerate(CANONICAL_LABELS)}
SIGNATURE_IDS["ATTACK"] = SIGNATURE_BASE + 99
UNKNOWN_SIGNATURE = SIGNATURE_BASE + 999

_DURATION = FEATURE_NAMES.index("Flow Duration")
_FWD_PACKETS = FEATURE_NAMES.index("Total Fwd Packets")
_BWD_PACKETS = FEATURE_NAMES.index("Total Backward Packets")


def flow_number(flow_id: str, start_us: int) -> int:
    """EVE's numeric flow_id for a flow: the first 8 bytes of BLAKE2b over CICFlowMeter's Flow ID
    (`src-dst-srcport-dstport-protocol`) and the start time in microseconds, masked to 53 bits.
    The same flow gets the same number in every run, in-process or through a server; the start
    time keeps apart successive flows of one conversation."""
    digest = hashlib.blake2b(f"{flow_id}/{start_us}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & FLOW_ID_MASK


def eve_time(time_us: int) -> str:
    """`2017-04-07T22:24:37.251547+0100`: local time, microseconds, the offset without a colon."""
    seconds, micros = divmod(time_us, 1_000_000)
    moment = datetime.fromtimestamp(seconds).astimezone().replace(microsecond=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def alerts(
    batch: FlowBatch,
    verdicts: Verdicts,
    model: str,
    version: str,
    classes: tuple[str, ...],
    continued: Continuations | None = None,
) -> Iterator[dict[str, Any]]:
    """The alert of every flow of `batch` whose label is not BENIGN, in the batch's order. A flow
    in `continued` (a connection's end judged as its connection) says which flow that was."""
    flagged = [i for i, label in enumerate(verdicts.labels) if label != BENIGN]
    if not flagged:
        return
    parents = dict(zip(continued.rows, continued.parents, strict=True)) if continued else {}
    flow_ids = batch.flow_ids()
    src_ips, dst_ips = batch.src_ips(), batch.dst_ips()
    starts = batch.start_us.tolist()
    durations = batch.features[:, _DURATION].tolist()
    fwd, bwd = batch.features[:, _FWD_PACKETS].tolist(), batch.features[:, _BWD_PACKETS].tolist()
    src_ports, dst_ports = batch.src_port.tolist(), batch.dst_port.tolist()
    protocols = batch.protocol.tolist()
    probabilities = verdicts.probabilities.tolist()
    for i in flagged:
        label = verdicts.labels[i]
        kind = category(label)
        start = starts[i]
        end = start + max(int(durations[i]), 0)
        verdict: dict[str, Any] = {
            "model": model,
            "model_version": version,
            "probabilities": {
                name: round(p, 6) for name, p in zip(classes, probabilities[i], strict=True)
            },
            "flow": flow_ids[i],
        }
        if i in parents:
            # EVE readers correlate on flow_id: the alert names the flow whose verdict it carries
            flow, flow_start = parents[i]
            verdict["verdict_of"] = {"flow_id": flow_number(flow, flow_start), "flow": flow}
        yield {
            "timestamp": eve_time(end),
            "flow_id": flow_number(flow_ids[i], start),
            "event_type": "alert",
            "src_ip": src_ips[i],
            "src_port": src_ports[i],
            "dest_ip": dst_ips[i],
            "dest_port": dst_ports[i],
            "proto": PROTOCOLS.get(protocols[i], str(protocols[i])),
            "alert": {
                "action": "allowed",
                "gid": 1,
                "signature_id": SIGNATURE_IDS.get(label, UNKNOWN_SIGNATURE),
                "rev": 1,
                "signature": label,
                "category": kind.name,
                "severity": kind.severity,
            },
            "flow": {
                "pkts_toserver": int(fwd[i]),
                "pkts_toclient": int(bwd[i]),
                "start": eve_time(start),
            },
            "ids_inference": verdict,
        }


class AlertWriter:
    """JSON lines to an open binary file; `flush` after every batch when live."""

    def __init__(self, file: BinaryIO, *, flush: bool) -> None:
        self.file = file
        self.flush = flush
        self.written = 0

    def write(self, events: Iterator[dict[str, Any]]) -> None:
        lines = [orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE) for event in events]
        if lines:
            self.file.write(b"".join(lines))
            self.written += len(lines)
        if self.flush:
            self.file.flush()
