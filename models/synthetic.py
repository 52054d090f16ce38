"""Synthetic CICIDS2017-like flows, calibrated to per-class aggregates of the real excerpts.

Each class draws its packet counts, duration and payload sizes from a joint log-normal fitted
to the real flows of that class (`calibration.json`, written by `models/calibrate.py`), then
derives every other feature from them the way CICFlowMeter does: totals are means times
counts, min <= mean <= max, rates are counts per second of duration, the header length is
written twice, and a zero duration gives `Infinity` (or `NaN` for zero bytes) rates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from models.calibrate import ACTIVITY_TIMEOUT_US, CALIBRATION_FILE, FLAGS
from models.dataset import Flows, SourceFile
from models.features import FEATURE_NAMES, N_FEATURES

SYNTHETIC_LAYOUT = "synthetic"
MICROSECONDS = 1e6
_COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


@cache
def load_calibration(path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    """The calibration the generator draws from (per-class aggregates, no rows)."""
    calibration: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return calibration


def class_counts(n_rows: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Rows per class for `n_rows`, proportional to `shares` (largest remainders).

    When there is room, every class gets at least two rows so a stratified split keeps it.
    """
    names = list(shares)
    weights = np.array([shares[name] for name in names], dtype=np.float64)
    if n_rows < 0 or not names or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"need n_rows >= 0 and positive class shares, got {n_rows}, {shares}")
    floor = 2 if n_rows >= 2 * len(names) else 0
    spare = n_rows - floor * len(names)
    exact = weights / weights.sum() * spare
    counts = np.floor(exact).astype(np.int64)
    by_remainder = np.argsort(-(exact - counts), kind="stable")
    counts[by_remainder[: spare - int(counts.sum())]] += 1
    return {name: int(count) + floor for name, count in zip(names, counts, strict=True)}


def _categorical(spec: Mapping[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """Values from the top-value shares; the remaining share uniform over `other_range`."""
    values = np.array([int(v) for v in spec["top"]], dtype=np.float64)
    cumulative = np.cumsum(np.array(list(spec["top"].values()), dtype=np.float64))
    picks = np.searchsorted(cumulative, rng.random(n), side="right")
    low, high = spec["other_range"]
    others = rng.integers(low, high + 1, size=n).astype(np.float64)
    chosen: np.ndarray = np.where(
        picks < values.size, values[np.minimum(picks, values.size - 1)], others
    )
    return chosen


def _spread(
    total: np.ndarray, count: np.ndarray, min_fraction: np.ndarray, max_target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample std, max and min of `count` values summing to `total`, all consistent.

    min and max are whole numbers; the values are min, max and `count - 2` equal middle values,
    a sample that exists, so the std is that sample's.
    """
    k = np.maximum(count, 1)
    gaps = np.maximum(k - 1, 1)
    mean = total / k
    low = np.floor(mean * min_fraction)
    # max must leave the others room between min and max: (T - min)/(k-1) <= max <= T - (k-1) min
    high = np.clip(np.rint(max_target), np.ceil((total - low) / gaps), total - (k - 1) * low)
    single = count <= 1
    low = np.where(single, total, low)
    high = np.where(single, total, high)
    middle = np.where(k > 2, (total - low - high) / np.maximum(k - 2, 1), mean)
    squares = (low - mean) ** 2 + (high - mean) ** 2 + (k - 2).clip(0) * (middle - mean) ** 2
    std = np.where(single, 0.0, np.sqrt(squares / gaps))
    return mean, std, high, low


def _core(p: Mapping[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """Correlated log-normal draws of duration, packet counts and mean payloads."""
    mean_std = np.array(p["core_log_mean_std"], dtype=np.float64)
    covariance = np.outer(mean_std[:, 1], mean_std[:, 1]) * np.array(p["core_log_correlation"])
    root = np.linalg.cholesky(covariance + 1e-9 * np.eye(len(mean_std)))
    core = np.exp(mean_std[:, 0] + rng.standard_normal((n, len(mean_std))) @ root.T)
    capped: np.ndarray = np.minimum(core, np.maximum(np.array(p["core_max"]), 1.0))
    return capped


def _generate_class(p: Mapping[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((n, N_FEATURES), dtype=np.float64)

    def put(name: str, values: np.ndarray) -> None:
        out[:, _COLUMN[name]] = values

    def uniform(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, n)

    core = _core(p, n, rng)
    nf = np.maximum(np.rint(core[:, 1]), 1)
    nb = np.where(rng.random(n) < p["no_backward_rate"], 0, np.maximum(np.rint(core[:, 2]), 1))
    nf = np.where((nf == 1) & (nb == 0), 2, nf)  # CICFlowMeter emits no one-packet flows
    draw = rng.random(n)
    minus_one, zero = p["duration_minus_one_rate"], p["duration_zero_rate"]
    duration = np.where(
        draw < minus_one,
        -1,
        np.where(draw < minus_one + zero, 0, np.maximum(np.rint(core[:, 0]), 1)),
    )
    fwd_total = np.where(
        rng.random(n) < p["fwd_empty_rate"], 0, np.rint(nf * np.maximum(core[:, 3], 1))
    )
    bwd_total = np.where(
        (nb == 0) | (rng.random(n) < p["bwd_empty_rate"]),
        0,
        np.rint(nb * np.maximum(core[:, 4], 1)),
    )

    # Packet lengths per direction.
    cap = p["payload_max"]
    lengths = {}
    for side, count, total in (("Fwd", nf, fwd_total), ("Bwd", nb, bwd_total)):
        key = side.lower()
        zero_min = rng.random(n) < p[f"{key}_min_zero_rate"]
        min_fraction = np.where(zero_min, 0.0, uniform(0.2, 1.0))
        ratio_mean, ratio_std = p[f"{key}_max_over_mean_log"]
        mean = total / np.maximum(count, 1)
        target = np.minimum(mean * np.exp(np.abs(rng.normal(ratio_mean, ratio_std, n))), cap)
        lengths[side] = _spread(total, count, min_fraction, target)
        mean, std, high, low = lengths[side]
        put(f"Total Length of {side} Packets", total)
        put(f"{side} Packet Length Max", high)
        put(f"{side} Packet Length Min", low)
        put(f"{side} Packet Length Mean", mean)
        put(f"{side} Packet Length Std", std)
        put(f"Avg {side} Segment Size", mean)
    put("Total Fwd Packets", nf)
    put("Total Backward Packets", nb)
    put("Subflow Fwd Packets", nf)
    put("Subflow Bwd Packets", nb)
    put("Subflow Fwd Bytes", fwd_total)
    put("Subflow Bwd Bytes", bwd_total)
    put("Down/Up Ratio", np.floor(nb / nf))

    # All packets together. CICFlowMeter counts the first packet (a forward one, nearly always
    # the smallest) twice in these statistics: mean over n + 1 values, size over n.
    packets = nf + nb
    first = lengths["Fwd"][3]
    (f_mean, f_std, f_max, f_min), (b_mean, b_std, b_max, b_min) = lengths["Fwd"], lengths["Bwd"]
    both_total = fwd_total + bwd_total + first
    all_mean = both_total / (packets + 1)
    squares = (
        (nf - 1) * f_std**2 + nf * f_mean**2 + np.maximum(nb - 1, 0) * b_std**2 + nb * b_mean**2
    ) + first**2
    variance = np.maximum(squares - (packets + 1) * all_mean**2, 0) / packets
    put("Min Packet Length", np.where(nb > 0, np.minimum(f_min, b_min), f_min))
    put("Max Packet Length", np.maximum(f_max, b_max))
    put("Packet Length Mean", all_mean)
    put("Packet Length Std", np.sqrt(variance))
    put("Packet Length Variance", variance)
    put("Average Packet Size", both_total / packets)

    # Duration and the rates derived from it. Duration 0 makes the flow rates Infinity, or NaN
    # for 0 bytes; -1 makes them negative; the per-direction rates are then 0, as in the data.
    put("Flow Duration", duration)
    seconds = np.where(duration != 0, duration, 1) / MICROSECONDS
    with np.errstate(divide="ignore", invalid="ignore"):
        put(
            "Flow Bytes/s",
            np.where(
                duration != 0, (fwd_total + bwd_total) / seconds, (fwd_total + bwd_total) / 0.0
            ),
        )
    put("Flow Packets/s", np.where(duration != 0, packets / seconds, np.inf))
    put("Fwd Packets/s", np.where(duration > 0, nf / seconds, 0))
    put("Bwd Packets/s", np.where(duration > 0, nb / seconds, 0))

    # Inter-arrival times (microseconds): gaps between consecutive packets of the flow and of
    # each direction. A non-positive duration leaves every flow gap equal to it.
    timed = duration > 0
    iat_mean, iat_std, iat_max, iat_min = _spread(
        np.maximum(duration, 0), packets - 1, uniform(0, 1) ** 3, duration * uniform(0.3, 1.0)
    )
    put("Flow IAT Mean", np.where(timed, iat_mean, duration))
    put("Flow IAT Std", np.where(timed, iat_std, 0))
    put("Flow IAT Max", np.where(timed, iat_max, duration))
    put("Flow IAT Min", np.where(timed, iat_min, duration))
    for side, count, share in (("Fwd", nf, uniform(0.5, 1.0)), ("Bwd", nb, uniform(0.2, 1.0))):
        total = np.where(timed & (count >= 2), np.rint(np.maximum(duration, 0) * share), 0)
        mean, std, high, low = _spread(
            total, count - 1, uniform(0, 1) ** 3, total * uniform(0.3, 1.0)
        )
        put(f"{side} IAT Total", total)
        put(f"{side} IAT Mean", mean)
        put(f"{side} IAT Std", std)
        put(f"{side} IAT Max", high)
        put(f"{side} IAT Min", low)

    # Idle periods follow gaps longer than the activity timeout; active periods sit between.
    flow_iat_max = out[:, _COLUMN["Flow IAT Max"]]
    idle = (flow_iat_max >= ACTIVITY_TIMEOUT_US) & (rng.random(n) < p["idle_rate_after_long_gap"])
    idle_min = np.where(
        rng.random(n) < 0.5,
        flow_iat_max,
        np.rint(uniform(0, 1) * (flow_iat_max - ACTIVITY_TIMEOUT_US)) + ACTIVITY_TIMEOUT_US,
    )
    active_max = np.rint(uniform(0, 1e5))
    active_min = np.rint(active_max * uniform(0, 1))
    for kind, high, low in (("Idle", flow_iat_max, idle_min), ("Active", active_max, active_min)):
        put(f"{kind} Max", np.where(idle, high, 0))
        put(f"{kind} Min", np.where(idle, low, 0))
        put(f"{kind} Mean", np.where(idle, (high + low) / 2, 0))
        put(f"{kind} Std", np.where(idle, (high - low) / np.sqrt(2), 0))

    # Headers, flags, windows, ports.
    min_seg = _categorical(p["min_seg_size_forward"], n, rng)
    extra = 4 * np.rint(nf * p["fwd_header_extra_per_packet_mean"] * uniform(0, 2) / 4)
    put("Fwd Header Length", nf * min_seg + extra)
    put("Fwd Header Length.1", nf * min_seg + extra)
    bwd_mean, bwd_std = p["bwd_header_per_packet"]
    put("Bwd Header Length", np.rint(nb * np.clip(rng.normal(bwd_mean, bwd_std, n), 0, 60)))
    put("min_seg_size_forward", min_seg)
    flags = rng.random((n, len(FLAGS))) < np.array([p["flag_rates"][name] for name in FLAGS])
    for i, name in enumerate(FLAGS):
        put(name, flags[:, i])
    put("Destination Port", _categorical(p["destination_port"], n, rng))
    put("Init_Win_bytes_forward", _categorical(p["init_win_forward"], n, rng))
    put(
        "Init_Win_bytes_backward",
        np.where(nb > 0, _categorical(p["init_win_backward"], n, rng), -1),
    )
    # Forward packets carrying data, not counting the first packet of the flow.
    some = rng.integers(1, np.maximum(nf, 2))
    put("act_data_pkt_fwd", np.where(f_min > 0, nf - 1, np.where(fwd_total == 0, 0, some)))
    return out


def generate_flows(
    n_rows: int,
    *,
    seed: int = 42,
    shares: Mapping[str, float] | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> Flows:
    """`n_rows` synthetic flows, the same for the same arguments.

    Classes come in the calibrated shares (the real excerpts' mix) unless `shares` names others;
    every class keeps at least two rows when `n_rows` allows. Rows are shuffled.
    """
    calibration = load_calibration() if calibration is None else calibration
    classes = calibration["classes"]
    if shares is None:
        shares = {name: spec["share"] for name, spec in classes.items()}
    unknown = sorted(set(shares) - set(classes))
    if unknown:
        raise ValueError(f"no calibration for {unknown}; calibrated classes: {sorted(classes)}")
    counts = class_counts(n_rows, shares)
    rng = np.random.default_rng(seed)
    blocks = [_generate_class(classes[name], count, rng) for name, count in counts.items()]
    order = rng.permutation(n_rows)
    labels = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    name = f"synthetic(rows={n_rows}, seed={seed})"
    return Flows(
        features=np.concatenate(blocks)[order] if blocks else np.zeros((0, N_FEATURES)),
        labels=labels[order],
        sources=(name,),
        files=(SourceFile(path=name, layout=SYNTHETIC_LAYOUT, rows=n_rows, labelled=True),),
    )
