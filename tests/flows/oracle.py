"""CICFlowMeter's FlowGenerator and BasicFlow, ported line for line to Python, one packet at a time.

A second reference for the tests: slow and plain, it follows `FlowGenerator.addPacket` and
`BasicFlow` (and Commons Math's `SummaryStatistics`) statement by statement, so hypothesis can
compare the flow meter with it on any packets, where `cfm` would need a capture and a JVM each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flows.packets import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG
from models.features import FEATURE_NAMES


@dataclass(frozen=True)
class Pkt:
    time_us: int
    src: str  # an IPv4 or IPv6 address, as the Flow ID writes it
    dst: str
    sport: int
    dport: int
    protocol: int  # 0 when the packet has no TCP/UDP header
    flags: int
    payload: int
    header: int
    window: int

    def fwd_id(self) -> str:
        return f"{self.src}-{self.dst}-{self.sport}-{self.dport}-{self.protocol}"

    def bwd_id(self) -> str:
        return f"{self.dst}-{self.src}-{self.dport}-{self.sport}-{self.protocol}"


class Stats:
    """Commons Math SummaryStatistics: Welford's mean and M2, sum, min, max."""

    def __init__(self) -> None:
        self.n = 0
        self.m1 = 0.0
        self.m2 = 0.0
        self.sum = 0.0
        self.min = math.nan
        self.max = math.nan

    def add(self, x: float) -> None:
        self.n += 1
        dev = x - self.m1
        ndev = dev / self.n
        self.m1 += ndev
        self.m2 += (self.n - 1) * dev * ndev
        self.sum += x
        self.min = x if self.n == 1 else min(self.min, x)
        self.max = x if self.n == 1 else max(self.max, x)

    def mean(self) -> float:
        return self.m1 if self.n else math.nan

    def variance(self) -> float:
        return math.nan if self.n == 0 else 0.0 if self.n == 1 else self.m2 / (self.n - 1)

    def std(self) -> float:
        return math.nan if self.n == 0 else 0.0 if self.n == 1 else math.sqrt(self.variance())


def _long(x: float) -> float:
    if math.isnan(x):
        return 0.0
    return (
        float(max(min(math.trunc(x), 2**63 - 1), -(2**63)))
        if math.isfinite(x)
        else (float(2**63 - 1) if x > 0 else float(-(2**63)))
    )


class Flow:
    def __init__(
        self,
        packet: Pkt,
        activity_timeout: int,
        keep: tuple[str, str, int, int] | None = None,
    ) -> None:
        self.activity_timeout = activity_timeout
        self.fwd = Stats()
        self.bwd = Stats()
        self.length = Stats()
        self.flow_iat = Stats()
        self.fwd_iat = Stats()
        self.bwd_iat = Stats()
        self.active = Stats()
        self.idle = Stats()
        self.forward = 0
        self.backward = 0
        self.fwd_bytes = 0
        self.bwd_bytes = 0
        self.fwd_header = 0
        self.bwd_header = 0
        self.flags = dict.fromkeys(("FIN", "SYN", "RST", "PSH", "ACK", "URG", "CWR", "ECE"), 0)
        self.fpsh = self.furg = 0
        self.fwd_fins = self.bwd_fins = 0
        self.act_data = 0
        self.min_seg = 0
        self.win_fwd = self.win_bwd = 0
        self.sf_last = -1
        self.sf_count = 0
        self.bulk = [
            0
        ] * 8  # duration, packets, size, states, count helper, start, size helper, last
        self.src: str | None = None
        self.fwd_last = 0
        self.bwd_last = 0
        self.first_packet(packet)
        if keep is not None:
            self.src, self.dst, self.sport, self.dport = keep

    def update_bulk(self, p: Pkt) -> None:
        # Always the backward bulk (see the module doc of flows.table); its "other" ts is 0.
        d = self.bulk
        if d[5] < 0:
            d[5] = 0
        size = p.payload
        if size <= 0:
            return
        if d[5] == 0:
            d[5], d[4], d[6], d[7] = p.time_us, 1, size, p.time_us
        elif (p.time_us - d[7]) / 1e6 > 1.0:
            d[5], d[7], d[4], d[6] = p.time_us, p.time_us, 1, size
        else:
            d[4] += 1
            d[6] += size
            if d[4] == 4:
                d[3] += 1
                d[1] += d[4]
                d[2] += d[6]
                d[0] += p.time_us - d[5]
            elif d[4] > 4:
                d[1] += 1
                d[2] += size
                d[0] += p.time_us - d[7]
            d[7] = p.time_us

    def subflows(self, p: Pkt) -> None:
        if self.sf_last == -1:
            self.sf_last = p.time_us
        if (p.time_us - self.sf_last) / 1e6 > 1.0:
            self.sf_count += 1
            self.update_active_idle(p.time_us)
        self.sf_last = p.time_us

    def check_flags(self, p: Pkt) -> None:
        for name, bit in (
            ("FIN", FIN),
            ("SYN", SYN),
            ("RST", RST),
            ("PSH", PSH),
            ("ACK", ACK),
            ("URG", URG),
            ("CWR", CWR),
            ("ECE", ECE),
        ):
            if p.flags & bit:
                self.flags[name] += 1

    def first_packet(self, p: Pkt) -> None:
        self.update_bulk(p)
        self.subflows(p)
        self.check_flags(p)
        self.start = self.last = self.start_active = self.end_active = p.time_us
        self.length.add(p.payload)
        self.src, self.sport, self.dst, self.dport = p.src, p.sport, p.dst, p.dport
        self.min_seg = p.header
        self.win_fwd = p.window
        self.length.add(p.payload)
        self.fwd.add(p.payload)
        self.fwd_header = p.header
        self.fwd_last = p.time_us
        self.fwd_bytes += p.payload
        self.forward += 1
        self.fpsh += bool(p.flags & PSH)
        self.furg += bool(p.flags & URG)
        self.protocol = p.protocol

    def add_packet(self, p: Pkt) -> None:
        self.update_bulk(p)
        self.subflows(p)
        self.check_flags(p)
        t = p.time_us
        self.length.add(p.payload)
        if p.src == self.src:
            if p.payload >= 1:
                self.act_data += 1
            self.fwd.add(p.payload)
            self.fwd_header += p.header
            self.forward += 1
            self.fwd_bytes += p.payload
            if self.forward > 1:
                self.fwd_iat.add(t - self.fwd_last)
            self.fwd_last = t
            self.min_seg = min(p.header, self.min_seg)
        else:
            self.bwd.add(p.payload)
            self.win_bwd = p.window
            self.bwd_header += p.header
            self.backward += 1
            self.bwd_bytes += p.payload
            if self.backward > 1:
                self.bwd_iat.add(t - self.bwd_last)
            self.bwd_last = t
        self.flow_iat.add(t - self.last)
        self.last = t

    def update_active_idle(self, now: int) -> None:
        if now - self.end_active > self.activity_timeout:
            if self.end_active - self.start_active > 0:
                self.active.add(self.end_active - self.start_active)
            self.idle.add(now - self.end_active)
            self.start_active = self.end_active = now
        else:
            self.end_active = now

    def packets(self) -> int:
        return self.forward + self.backward

    def features(self) -> dict[str, float]:
        duration = self.last - self.start
        seconds = duration / 1e6

        def div(a: float, b: float) -> float:
            if b == 0:
                return math.nan if a == 0 else math.copysign(math.inf, a)
            return a / b

        def four(s: Stats, guard: bool) -> list[float]:
            return [s.max, s.min, s.mean(), s.std()] if guard else [0.0] * 4

        def iat(s: Stats, guard: bool) -> list[float]:
            return [s.sum, s.mean(), s.std(), s.max, s.min] if guard else [0.0] * 5

        def stat4(s: Stats) -> list[float]:
            return [s.mean(), s.std(), s.max, s.min] if s.n > 0 else [0.0] * 4

        d = self.bulk
        values = [
            float(self.dport),
            float(duration),
            float(self.fwd.n),
            float(self.bwd.n),
            self.fwd.sum,
            self.bwd.sum,
            *four(self.fwd, self.fwd.n > 0),
            *four(self.bwd, self.bwd.n > 0),
            div(float(self.fwd_bytes + self.bwd_bytes), seconds),
            div(float(self.packets()), seconds),
            self.flow_iat.mean(),
            self.flow_iat.std(),
            self.flow_iat.max,
            self.flow_iat.min,
            *iat(self.fwd_iat, self.forward > 1),
            *iat(self.bwd_iat, self.backward > 1),
            float(self.fpsh),
            0.0,
            float(self.furg),
            0.0,
            float(self.fwd_header),
            float(self.bwd_header),
            self.forward / seconds if duration > 0 else 0.0,
            self.backward / seconds if duration > 0 else 0.0,
            self.length.min,
            self.length.max,
            self.length.mean(),
            self.length.std(),
            self.length.variance(),
            *(float(self.flags[k]) for k in ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "CWR")),
            float(self.flags["ECE"]),
            float(self.backward // self.forward) if self.forward > 0 else 0.0,
            self.length.sum / self.packets() if self.packets() > 0 else 0.0,
            self.fwd.sum / self.forward if self.forward else 0.0,
            self.bwd.sum / self.backward if self.backward else 0.0,
            float(self.fwd_header),
            0.0,
            0.0,
            0.0,
            float(d[2] // d[3]) if d[3] else 0.0,
            float(d[1] // d[3]) if d[3] else 0.0,
            _long(d[2] / (d[0] / 1e6)) if d[0] != 0 else 0.0,
            float(self.forward // self.sf_count) if self.sf_count > 0 else 0.0,
            float(self.fwd_bytes // self.sf_count) if self.sf_count > 0 else 0.0,
            float(self.backward // self.sf_count) if self.sf_count > 0 else 0.0,
            float(self.bwd_bytes // self.sf_count) if self.sf_count > 0 else 0.0,
            float(self.win_fwd),
            float(self.win_bwd),
            float(self.act_data),
            float(self.min_seg),
            *stat4(self.active),
            *stat4(self.idle),
        ]
        return dict(zip(FEATURE_NAMES, values, strict=True))


class Generator:
    """`FlowGenerator` with a listener: `written` holds the flows in the order written."""

    def __init__(self, flow_timeout: int = 120_000_000, activity_timeout: int = 5_000_000):
        self.flow_timeout = flow_timeout
        self.activity_timeout = activity_timeout
        self.current: dict[str, Flow] = {}
        self.written: list[tuple[str, Flow]] = []

    def add(self, p: Pkt) -> None:
        fwd, bwd = p.fwd_id(), p.bwd_id()
        if fwd not in self.current and bwd not in self.current:
            self.current[fwd] = Flow(p, self.activity_timeout)
            return
        key = fwd if fwd in self.current else bwd
        flow = self.current[key]
        t = p.time_us
        if t - flow.start > self.flow_timeout:
            if flow.packets() > 1:
                self.written.append((key, flow))
            assert flow.src is not None
            keep = (flow.src, flow.dst, flow.sport, flow.dport)
            self.current[key] = Flow(p, self.activity_timeout, keep)
        elif p.flags & FIN:
            if flow.src == p.src:
                flow.fwd_fins += 1
                if flow.fwd_fins == 1:
                    flow.update_active_idle(t)
                    flow.add_packet(p)
            else:
                flow.bwd_fins += 1
                if flow.bwd_fins == 1:
                    flow.add_packet(p)
                    self.written.append((key, flow))
                    del self.current[key]
        elif p.flags & RST:
            flow.add_packet(p)
            self.written.append((key, flow))
            del self.current[key]
        elif (flow.src == p.src and flow.fwd_fins == 0) or flow.bwd_fins == 0:
            flow.update_active_idle(t)
            flow.add_packet(p)

    def finish(self) -> list[tuple[str, Flow]]:
        """Every flow written, the open ones (of more than one packet) at the end."""
        return self.written + [(k, f) for k, f in self.current.items() if f.packets() > 1]
