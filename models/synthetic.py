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


class _ClassSampler:
    """Draws the flows of one class, one group of related features at a time."""

    def __init__(self, p: Mapping[str, Any], n: int, rng: np.random.Generator) -> None:
        self.p, self.n, self.rng = p, n, rng
        self.out = np.zeros((n, N_FEATURES), dtype=np.float64)

    def put(self, name: str, values: np.ndarray) -> None:
        self.out[:, _COLUMN[name]] = values

    def put_spread(
        self, prefix: str, spread: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """Store `_spread`'s mean, std, max and min as `<prefix> Mean` etc.; return the mean."""
        for suffix, values in zip(("Mean", "Std", "Max", "Min"), spread, strict=True):
            self.put(f"{prefix} {suffix}", values)
        return spread[0]

    def get(self, name: str) -> np.ndarray:
        column: np.ndarray = self.out[:, _COLUMN[name]]
        return column

    def uniform(self, low: float, high: float) -> np.ndarray:
        return self.rng.uniform(low, high, self.n)

    def chance(self, rate: float) -> np.ndarray:
        happens: np.ndarray = self.rng.random(self.n) < rate
        return happens

    def sample(self) -> np.ndarray:
        self.counts_and_sizes()
        for side in ("Fwd", "Bwd"):
            self.packet_lengths(side)
        self.all_packets()
        self.rates()
        self.inter_arrival_times()
        self.idle_and_active()
        self.headers_flags_ports()
        return self.out

    def counts_and_sizes(self) -> None:
        p, core = self.p, _core(self.p, self.n, self.rng)
        nf = np.maximum(np.rint(core[:, 1]), 1)
        nb = np.where(self.chance(p["no_backward_rate"]), 0, np.maximum(np.rint(core[:, 2]), 1))
        nf = np.where((nf == 1) & (nb == 0), 2, nf)  # CICFlowMeter emits no one-packet flows
        draw = self.rng.random(self.n)
        minus_one, zero = p["duration_minus_one_rate"], p["duration_zero_rate"]
        duration = np.maximum(np.rint(core[:, 0]), 1)
        duration = np.where(draw < minus_one + zero, 0, duration)
        self.put("Flow Duration", np.where(draw < minus_one, -1, duration))
        fwd_total = np.rint(nf * np.maximum(core[:, 3], 1))
        bwd_total = np.rint(nb * np.maximum(core[:, 4], 1))
        self.put("Total Fwd Packets", nf)
        self.put("Total Backward Packets", nb)
        self.put(
            "Total Length of Fwd Packets", np.where(self.chance(p["fwd_empty_rate"]), 0, fwd_total)
        )
        empty_bwd = (nb == 0) | self.chance(p["bwd_empty_rate"])
        self.put("Total Length of Bwd Packets", np.where(empty_bwd, 0, bwd_total))
        for side, name in (("Fwd", "Fwd Packets"), ("Bwd", "Backward Packets")):
            self.put(f"Subflow {side} Packets", self.get(f"Total {name}"))
            self.put(f"Subflow {side} Bytes", self.get(f"Total Length of {side} Packets"))
        self.put("Down/Up Ratio", np.floor(nb / nf))

    def packet_lengths(self, side: str) -> None:
        count = self.get(f"Subflow {side} Packets")
        total = self.get(f"Total Length of {side} Packets")
        key = side.lower()
        min_fraction = np.where(
            self.chance(self.p[f"{key}_min_zero_rate"]), 0.0, self.uniform(0.2, 1.0)
        )
        ratio_mean, ratio_std = self.p[f"{key}_max_over_mean_log"]
        ratio = np.exp(np.abs(self.rng.normal(ratio_mean, ratio_std, self.n)))
        target = np.minimum(total / np.maximum(count, 1) * ratio, self.p["payload_max"])
        mean = self.put_spread(f"{side} Packet Length", _spread(total, count, min_fraction, target))
        self.put(f"Avg {side} Segment Size", mean)

    def all_packets(self) -> None:
        # CICFlowMeter counts the first packet (a forward one, nearly always the smallest) twice
        # in these statistics: the mean is over n + 1 values, the average size over n.
        nf, nb = self.get("Total Fwd Packets"), self.get("Total Backward Packets")
        f_mean, f_std = self.get("Fwd Packet Length Mean"), self.get("Fwd Packet Length Std")
        b_mean, b_std = self.get("Bwd Packet Length Mean"), self.get("Bwd Packet Length Std")
        f_min, b_min = self.get("Fwd Packet Length Min"), self.get("Bwd Packet Length Min")
        first, packets = f_min, nf + nb
        total = self.get("Total Length of Fwd Packets") + self.get("Total Length of Bwd Packets")
        mean = (total + first) / (packets + 1)
        squares = (nf - 1) * f_std**2 + nf * f_mean**2 + first**2
        squares += np.maximum(nb - 1, 0) * b_std**2 + nb * b_mean**2
        variance = np.maximum(squares - (packets + 1) * mean**2, 0) / packets
        self.put("Min Packet Length", np.where(nb > 0, np.minimum(f_min, b_min), f_min))
        high = np.maximum(self.get("Fwd Packet Length Max"), self.get("Bwd Packet Length Max"))
        self.put("Max Packet Length", high)
        self.put("Packet Length Mean", mean)
        self.put("Packet Length Std", np.sqrt(variance))
        self.put("Packet Length Variance", variance)
        self.put("Average Packet Size", (total + first) / packets)

    def rates(self) -> None:
        # Duration 0 makes the flow rates Infinity (NaN for 0 bytes); -1 makes them negative;
        # the per-direction rates are then 0, as in the data.
        duration = self.get("Flow Duration")
        nf, nb = self.get("Total Fwd Packets"), self.get("Total Backward Packets")
        size = self.get("Total Length of Fwd Packets") + self.get("Total Length of Bwd Packets")
        seconds = np.where(duration != 0, duration, 1) / MICROSECONDS
        with np.errstate(divide="ignore", invalid="ignore"):
            self.put("Flow Bytes/s", np.where(duration != 0, size / seconds, size / 0.0))
        self.put("Flow Packets/s", np.where(duration != 0, (nf + nb) / seconds, np.inf))
        self.put("Fwd Packets/s", np.where(duration > 0, nf / seconds, 0))
        self.put("Bwd Packets/s", np.where(duration > 0, nb / seconds, 0))

    def inter_arrival_times(self) -> None:
        # Gaps (microseconds) between consecutive packets of the flow and of each direction;
        # a non-positive duration leaves every flow gap equal to it, the others 0.
        duration = self.get("Flow Duration")
        nf, nb = self.get("Total Fwd Packets"), self.get("Total Backward Packets")
        timed, elapsed = duration > 0, np.maximum(duration, 0)
        low_share, high_share = self.uniform(0, 1) ** 3, self.uniform(0.3, 1.0)
        mean, std, high, low = _spread(elapsed, nf + nb - 1, low_share, duration * high_share)
        self.put("Flow IAT Mean", np.where(timed, mean, duration))
        self.put("Flow IAT Std", np.where(timed, std, 0))
        self.put("Flow IAT Max", np.where(timed, high, duration))
        self.put("Flow IAT Min", np.where(timed, low, duration))
        for side, count, lowest in (("Fwd", nf, 0.5), ("Bwd", nb, 0.2)):
            total = np.where(timed & (count >= 2), np.rint(elapsed * self.uniform(lowest, 1)), 0)
            low_share, high_share = self.uniform(0, 1) ** 3, self.uniform(0.3, 1.0)
            self.put(f"{side} IAT Total", total)
            self.put_spread(f"{side} IAT", _spread(total, count - 1, low_share, total * high_share))

    def idle_and_active(self) -> None:
        # Idle periods are gaps longer than the activity timeout; active periods sit between.
        longest = self.get("Flow IAT Max")
        idle = (longest >= ACTIVITY_TIMEOUT_US) & self.chance(self.p["idle_rate_after_long_gap"])
        spare = np.rint(self.uniform(0, 1) * (longest - ACTIVITY_TIMEOUT_US))
        idle_min = np.where(self.chance(0.5), longest, spare + ACTIVITY_TIMEOUT_US)
        active_max = np.rint(self.uniform(0, 1e5))
        active_min = np.rint(active_max * self.uniform(0, 1))
        for kind, high, low in (("Idle", longest, idle_min), ("Active", active_max, active_min)):
            self.put(f"{kind} Max", np.where(idle, high, 0))
            self.put(f"{kind} Min", np.where(idle, low, 0))
            self.put(f"{kind} Mean", np.where(idle, (high + low) / 2, 0))
            self.put(f"{kind} Std", np.where(idle, (high - low) / np.sqrt(2), 0))

    def headers_flags_ports(self) -> None:
        p, n, rng = self.p, self.n, self.rng
        nf, nb = self.get("Total Fwd Packets"), self.get("Total Backward Packets")
        min_seg = _categorical(p["min_seg_size_forward"], n, rng)
        extra = 4 * np.rint(nf * p["fwd_header_extra_per_packet_mean"] * self.uniform(0, 2) / 4)
        self.put("Fwd Header Length", nf * min_seg + extra)
        self.put("Fwd Header Length.1", nf * min_seg + extra)
        bwd_mean, bwd_std = p["bwd_header_per_packet"]
        per_packet = np.clip(rng.normal(bwd_mean, bwd_std, n), 0, 60)
        self.put("Bwd Header Length", np.rint(nb * per_packet))
        self.put("min_seg_size_forward", min_seg)
        for name in FLAGS:
            self.put(name, self.chance(p["flag_rates"][name]))
        self.put("Destination Port", _categorical(p["destination_port"], n, rng))
        self.put("Init_Win_bytes_forward", _categorical(p["init_win_forward"], n, rng))
        backward = _categorical(p["init_win_backward"], n, rng)
        self.put("Init_Win_bytes_backward", np.where(nb > 0, backward, -1))
        # Forward packets carrying data, not counting the flow's first packet.
        f_min, fwd_total = (
            self.get("Fwd Packet Length Min"),
            self.get("Total Length of Fwd Packets"),
        )
        some = rng.integers(1, np.maximum(nf, 2))
        self.put("act_data_pkt_fwd", np.where(f_min > 0, nf - 1, np.where(fwd_total == 0, 0, some)))


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
    blocks = [_ClassSampler(classes[name], n, rng).sample() for name, n in counts.items()]
    order = rng.permutation(n_rows)
    labels = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    name = f"synthetic(rows={n_rows}, seed={seed})"
    return Flows(
        features=np.concatenate(blocks)[order] if blocks else np.zeros((0, N_FEATURES)),
        labels=labels[order],
        sources=(name,),
        files=(SourceFile(path=name, layout=SYNTHETIC_LAYOUT, rows=n_rows, labelled=True),),
    )
