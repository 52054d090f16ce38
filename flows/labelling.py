"""Labels for the flows of a recording, from what its user knows: which hosts attacked which,
on which ports, and when.

    rule = Rule.parse("ATTACK", attackers=["127.0.0.1"], victims=["127.0.0.2:1-1024"])
    labels = label_flows(batch, [rule])  # the rule's label where it matches, else BENIGN

A rule matches a flow between one of its attackers and one of its victims, in either direction
(the flow meter's source is whoever sent the flow's first packet, and a conversation's later
flows can start from the victim), whose start lies in the rule's window. Ports given with an
address restrict that side's port; a rule without attackers (or victims) takes any address on
that side, so `--label BENIGN` alone labels a recording of normal traffic, and `--label
PortScan --from T1 --until T2` every flow of a window. The first matching rule gives the label.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from flows.records import FlowBatch
from flows.stats import Array
from models.labels import BENIGN, UnknownLabelError, canonical_label

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_U64 = (1 << 64) - 1


class LabelRuleError(ValueError):
    """A rule that cannot be read: the message names the option and the value."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Addresses (one, or a network) and optionally the ports they use, as inclusive ranges."""

    network: Network
    ports: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """`127.0.0.2`, `10.0.0.0/8`, `127.0.0.2:80`, `127.0.0.2:1-1024,8080`, `[::1]:443`."""
        address, ports = text.strip(), ""
        if address.startswith("["):
            address, _, rest = address[1:].partition("]")
            ports = rest.removeprefix(":")
        elif address.count(":") == 1:
            address, _, ports = address.partition(":")
        try:
            network = ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise LabelRuleError(f"{text!r}: not an address or network") from None
        return cls(network, _ports(text, ports) if ports else ())

    def matches(self, family: Array, hi: Array, lo: Array, port: Array) -> Array:
        """Which flows' side (address columns and port) this endpoint names."""
        net = self.network
        size = 32 if net.version == 4 else 128
        mask = ((1 << size) - 1) ^ ((1 << (size - net.prefixlen)) - 1)
        base = int(net.network_address)
        if net.version == 4:
            found = (family == 4) & ((lo & np.uint64(mask)) == np.uint64(base))
        else:
            found = (
                (family == 6)
                & ((hi & np.uint64(mask >> 64)) == np.uint64(base >> 64))
                & ((lo & np.uint64(mask & _U64)) == np.uint64(base & _U64))
            )
        if self.ports:
            in_range = np.zeros(len(port), np.bool_)
            for first, last in self.ports:
                in_range |= (port >= first) & (port <= last)
            found &= in_range
        return found  # type: ignore[no-any-return]


def _ports(text: str, ports: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for part in ports.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise LabelRuleError(f"{text!r}: ports must be N, N-M or a list of them") from None
        if not 0 <= low <= high <= 65535:
            raise LabelRuleError(f"{text!r}: ports must be 0-65535, the first of a range lowest")
        ranges.append((low, high))
    return tuple(ranges)


def parse_time(text: str) -> int:
    """Microseconds since the Unix epoch from Unix seconds (`1733512345.5`) or ISO 8601
    (`2026-12-06T19:49:41`, local time unless it names its offset)."""
    try:
        return round(float(text) * 1_000_000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LabelRuleError(
            f"{text!r}: not a time (Unix seconds, or ISO 8601 such as 2026-12-06T19:49:41)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as the Timestamp column is written
    return round(moment.timestamp() * 1_000_000)


@dataclass(frozen=True, slots=True)
class Rule:
    label: str
    attackers: tuple[Endpoint, ...]
    victims: tuple[Endpoint, ...]
    start_us: int | None = None
    until_us: int | None = None

    @classmethod
    def parse(
        cls,
        label: str,
        attackers: list[str],
        victims: list[str],
        start: str | None = None,
        until: str | None = None,
    ) -> Rule:
        try:
            canonical = canonical_label(label)
        except UnknownLabelError as error:
            raise LabelRuleError(f"--label {label!r}: {error}") from None
        rule = cls(
            canonical,
            tuple(Endpoint.parse(text) for text in attackers),
            tuple(Endpoint.parse(text) for text in victims),
            None if start is None else parse_time(start),
            None if until is None else parse_time(until),
        )
        if (
            rule.start_us is not None
            and rule.until_us is not None
            and rule.until_us < rule.start_us
        ):
            raise LabelRuleError(f"--label {label}: --until {until} is before --from {start}")
        return rule

    def matches(self, batch: FlowBatch) -> Array:
        src = (batch.family, batch.src_hi, batch.src_lo, batch.src_port)
        dst = (batch.family, batch.dst_hi, batch.dst_lo, batch.dst_port)
        forward = _any(self.attackers, src) & _any(self.victims, dst)
        backward = _any(self.attackers, dst) & _any(self.victims, src)
        found = forward | backward
        if self.start_us is not None:
            found &= batch.start_us >= self.start_us
        if self.until_us is not None:
            found &= batch.start_us <= self.until_us
        return found


def _any(endpoints: tuple[Endpoint, ...], side: tuple[Array, Array, Array, Array]) -> Array:
    if not endpoints:
        return np.ones(len(side[0]), np.bool_)
    found = np.zeros(len(side[0]), np.bool_)
    for endpoint in endpoints:
        found |= endpoint.matches(*side)
    return found


def label_flows(batch: FlowBatch, rules: list[Rule]) -> list[str]:
    """Each flow's label: the first rule that matches it, else BENIGN."""
    labels = np.full(len(batch), BENIGN, dtype=object)
    unset = np.ones(len(batch), np.bool_)
    for rule in rules:
        hit = unset & rule.matches(batch)
        labels[hit] = rule.label
        unset &= ~hit
    return labels.tolist()
