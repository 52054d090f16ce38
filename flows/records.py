"""Flow records as columns: what the flow meter yields, a batch of ended flows at a time."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

import numpy as np

from flows.stats import Array
from models.features import N_FEATURES


@dataclass(frozen=True, slots=True)
class FlowBatch:
    """Ended flows, one row each: their identifiers and the 78 features in model order.

    The source is the sender of the flow's first packet (as the reference writes it), addresses
    are split like `flows.packets.PacketBatch`'s, and `features` is float64 `[n, 78]` in
    `models.features.FEATURE_NAMES` order (column-major as the meter makes it: each feature's
    values are contiguous, for the writer and the meter's own column-by-column filling).
    """

    family: Array  # uint8: 4 or 6
    src_hi: Array  # uint64
    src_lo: Array  # uint64
    dst_hi: Array  # uint64
    dst_lo: Array  # uint64
    src_port: Array  # int64
    dst_port: Array  # int64
    protocol: Array  # int64: 6, 17, or 0 for IP packets without a TCP or UDP header
    start_us: Array  # int64: the first packet's time, microseconds since the Unix epoch
    features: Array  # float64 [n, 78]

    def __len__(self) -> int:
        return len(self.start_us)

    @classmethod
    def empty(cls) -> FlowBatch:
        columns: dict[str, Array] = {f.name: np.empty(0, np.int64) for f in fields(cls)}
        columns["features"] = np.empty((0, N_FEATURES))
        return cls(**columns)

    @classmethod
    def concat(cls, batches: list[FlowBatch]) -> FlowBatch:
        batches = [batch for batch in batches if len(batch)]
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return cls(
            **{
                f.name: np.concatenate([getattr(batch, f.name) for batch in batches])
                for f in fields(cls)
            }
        )

    def take(self, rows: Array) -> FlowBatch:
        """The flows at `rows` (indices or a mask), in that order."""
        return FlowBatch(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def src_ips(self) -> list[str]:
        return _addresses(self.family, self.src_hi, self.src_lo)

    def dst_ips(self) -> list[str]:
        return _addresses(self.family, self.dst_hi, self.dst_lo)

    def flow_ids(self) -> list[str]:
        """`src-dst-srcport-dstport-protocol`, as the reference's Flow ID."""
        return [
            f"{src}-{dst}-{sport}-{dport}-{protocol}"
            for src, dst, sport, dport, protocol in zip(
                self.src_ips(),
                self.dst_ips(),
                self.src_port.tolist(),
                self.dst_port.tolist(),
                self.protocol.tolist(),
                strict=True,
            )
        ]


def _addresses(family: Array, hi: Array, lo: Array) -> list[str]:
    if len(family) and (family == 4).all():
        unique, inverse = np.unique(lo, return_inverse=True)
        texts = np.array([str(ipaddress.IPv4Address(a)) for a in unique.tolist()], dtype=object)
        return texts[inverse].tolist()  # type: ignore[no-any-return]
    cache: dict[tuple[int, int, int], str] = {}
    result = []
    for key in zip(family.tolist(), hi.tolist(), lo.tolist(), strict=True):
        text = cache.get(key)
        if text is None:
            version, high, low = key
            if version == 4:
                text = str(ipaddress.IPv4Address(low))
            else:
                text = str(ipaddress.IPv6Address(high << 64 | low))
            cache[key] = text
        result.append(text)
    return result
