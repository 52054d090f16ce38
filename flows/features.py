"""The 78 CICIDS2017 features of ended flows, from their accumulators, as the reference has them.

Each value follows `BasicFlow.dumpFlowBasedFeaturesEx`: the same guards (a statistic of an empty
direction is 0), the same integer divisions (Down/Up Ratio, bulk averages, subflows) and `(long)`
casts, and rates that are Infinity or NaN for a flow of zero duration. The order is
`models.features.FEATURE_NAMES`.
"""

from __future__ import annotations

import numpy as np

from flows.stats import Array, Summary, union
from flows.table import FlowTable
from models.features import FEATURE_NAMES

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


def java_long(values: Array) -> Array:
    """Java's `(long)` of a double: toward zero, NaN to 0, saturating at the long range."""
    result: Array = np.trunc(np.clip(np.nan_to_num(values, nan=0.0), LONG_MIN, LONG_MAX))
    return result


def java_div(numerator: Array, denominator: Array) -> Array:
    """Java's integer division of non-negative longs, 0 where the reference guards against 0."""
    safe = np.where(denominator != 0, denominator, 1)
    return np.where(denominator != 0, numerator // safe, 0)


def compute(table: FlowTable, slots: Array) -> Array:
    """The `[len(slots), 78]` float64 features of the flows in `slots`."""
    m = table.moments
    ints = table.gather(slots)
    fwd = ints["fwd_packets"]
    bwd = ints["bwd_packets"]
    packets = fwd + bwd
    duration = ints["last"] - ints["start"]
    seconds = duration.astype(np.float64) / 1_000_000
    fwd_bytes = m["fwd_len"].total[slots]
    bwd_bytes = m["bwd_len"].total[slots]
    has_bwd = bwd > 0
    fwd_iats = fwd > 1
    bwd_iats = bwd > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        flow_bytes_rate = (fwd_bytes + bwd_bytes).astype(np.float64) / seconds
        flow_packets_rate = packets.astype(np.float64) / seconds
        fwd_rate = np.where(duration > 0, fwd / seconds, 0.0)
        bwd_rate = np.where(duration > 0, bwd / seconds, 0.0)
        bulk_rate = np.where(
            ints["bulk_duration"] != 0,
            java_long(ints["bulk_bytes"] / (ints["bulk_duration"] / 1_000_000)),
            0.0,
        )
    subflows = ints["subflows"]

    def guarded(condition: Array, values: Array) -> Array:
        return np.where(condition, values, 0.0)

    def stat(summary: Summary, guard: Array | None = None) -> list[Array]:
        if guard is None:
            guard = summary.n > 0
        values = (summary.mean, summary.std, summary.maximum, summary.minimum)
        return [guarded(guard, v) for v in values]

    fwd_len = m["fwd_len"].summary(slots)
    bwd_len = m["bwd_len"].summary(slots)
    flow_iat = m["flow_iat"].summary(slots)
    fwd_mean, fwd_std, fwd_max, fwd_min = stat(fwd_len, fwd > 0)
    bwd_mean, bwd_std, bwd_max, bwd_min = stat(bwd_len, has_bwd)
    iat_mean, iat_std, iat_max, iat_min = (
        flow_iat.mean,
        flow_iat.std,
        flow_iat.maximum,
        flow_iat.minimum,
    )
    fwd_iat = m["fwd_iat"].summary(slots)
    bwd_iat = m["bwd_iat"].summary(slots)
    f_mean, f_std, f_max, f_min = stat(fwd_iat, fwd_iats)
    b_mean, b_std, b_max, b_min = stat(bwd_iat, bwd_iats)
    # `firstPacket` adds the first packet's payload to the packet-length statistics twice.
    first_payload = ints["first_payload"]
    length_n, length_total, length_m2 = union(
        [
            (fwd, fwd_bytes, fwd_len.m2),
            (bwd, bwd_bytes, bwd_len.m2),
            (np.ones(len(slots), np.int64), first_payload, np.zeros(len(slots))),
        ]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        length_mean = length_total / length_n
        length_variance = np.where(length_n > 1, length_m2 / (length_n - 1), 0.0)
    length_min = np.minimum(fwd_len.low, bwd_len.low)
    length_max = np.maximum(fwd_len.high, bwd_len.high)
    active_mean, active_std, active_max, active_min = stat(m["active"].summary(slots))
    idle_mean, idle_std, idle_max, idle_min = stat(m["idle"].summary(slots))
    flags = table.flag_counts[slots]
    zero = np.zeros(len(slots))
    with np.errstate(divide="ignore", invalid="ignore"):
        average_size = np.where(packets > 0, length_total / packets, 0.0)
        fwd_segment = np.where(fwd > 0, fwd_bytes / fwd, 0.0)
        bwd_segment = np.where(has_bwd, bwd_bytes / np.where(has_bwd, bwd, 1), 0.0)
    columns: dict[str, Array] = {
        "Destination Port": ints["dst_port"],
        "Flow Duration": duration,
        "Total Fwd Packets": fwd,
        "Total Backward Packets": bwd,
        "Total Length of Fwd Packets": fwd_bytes,
        "Total Length of Bwd Packets": bwd_bytes,
        "Fwd Packet Length Max": fwd_max,
        "Fwd Packet Length Min": fwd_min,
        "Fwd Packet Length Mean": fwd_mean,
        "Fwd Packet Length Std": fwd_std,
        "Bwd Packet Length Max": bwd_max,
        "Bwd Packet Length Min": bwd_min,
        "Bwd Packet Length Mean": bwd_mean,
        "Bwd Packet Length Std": bwd_std,
        "Flow Bytes/s": flow_bytes_rate,
        "Flow Packets/s": flow_packets_rate,
        "Flow IAT Mean": iat_mean,
        "Flow IAT Std": iat_std,
        "Flow IAT Max": iat_max,
        "Flow IAT Min": iat_min,
        "Fwd IAT Total": guarded(fwd_iats, fwd_iat.total),
        "Fwd IAT Mean": f_mean,
        "Fwd IAT Std": f_std,
        "Fwd IAT Max": f_max,
        "Fwd IAT Min": f_min,
        "Bwd IAT Total": guarded(bwd_iats, bwd_iat.total),
        "Bwd IAT Mean": b_mean,
        "Bwd IAT Std": b_std,
        "Bwd IAT Max": b_max,
        "Bwd IAT Min": b_min,
        # Only the first packet's flags are looked at, and it is always a forward one.
        "Fwd PSH Flags": ints["first_psh"],
        "Bwd PSH Flags": zero,
        "Fwd URG Flags": ints["first_urg"],
        "Bwd URG Flags": zero,
        "Fwd Header Length": ints["fwd_header"],
        "Bwd Header Length": ints["bwd_header"],
        "Fwd Packets/s": fwd_rate,
        "Bwd Packets/s": bwd_rate,
        "Min Packet Length": guarded(packets > 0, length_min),
        "Max Packet Length": guarded(packets > 0, length_max),
        "Packet Length Mean": guarded(packets > 0, length_mean),
        "Packet Length Std": guarded(packets > 0, np.sqrt(np.maximum(length_variance, 0.0))),
        "Packet Length Variance": guarded(packets > 0, np.maximum(length_variance, 0.0)),
        "FIN Flag Count": flags[:, 0],
        "SYN Flag Count": flags[:, 1],
        "RST Flag Count": flags[:, 2],
        "PSH Flag Count": flags[:, 3],
        "ACK Flag Count": flags[:, 4],
        "URG Flag Count": flags[:, 5],
        "CWE Flag Count": flags[:, 6],
        "ECE Flag Count": flags[:, 7],
        "Down/Up Ratio": java_div(bwd, fwd),
        "Average Packet Size": average_size,
        "Avg Fwd Segment Size": fwd_segment,
        "Avg Bwd Segment Size": bwd_segment,
        "Fwd Header Length.1": ints["fwd_header"],
        # Forward bulks are never counted: the reference compares byte arrays by reference.
        "Fwd Avg Bytes/Bulk": zero,
        "Fwd Avg Packets/Bulk": zero,
        "Fwd Avg Bulk Rate": zero,
        "Bwd Avg Bytes/Bulk": java_div(ints["bulk_bytes"], ints["bulks"]),
        "Bwd Avg Packets/Bulk": java_div(ints["bulk_packets"], ints["bulks"]),
        "Bwd Avg Bulk Rate": bulk_rate,
        "Subflow Fwd Packets": java_div(fwd, subflows),
        "Subflow Fwd Bytes": java_div(fwd_bytes, subflows),
        "Subflow Bwd Packets": java_div(bwd, subflows),
        "Subflow Bwd Bytes": java_div(bwd_bytes, subflows),
        "Init_Win_bytes_forward": ints["init_win_fwd"],
        "Init_Win_bytes_backward": ints["init_win_bwd"],
        "act_data_pkt_fwd": ints["act_data_fwd"],
        "min_seg_size_forward": ints["fwd_header_min"],
        "Active Mean": active_mean,
        "Active Std": active_std,
        "Active Max": active_max,
        "Active Min": active_min,
        "Idle Mean": idle_mean,
        "Idle Std": idle_std,
        "Idle Max": idle_max,
        "Idle Min": idle_min,
    }
    assert tuple(columns) == FEATURE_NAMES
    # Column-major: each column is written whole (row-major, 78 strided writes cost 15% of the
    # meter), and the CSV writer reads whole columns.
    matrix = np.empty((len(slots), len(FEATURE_NAMES)), order="F")
    for i, values in enumerate(columns.values()):
        matrix[:, i] = values
    return matrix
