"""Derive the synthetic generator's calibration from real CICIDS2017 files.

    python -m models.calibrate --data ../shared/data/cicids2017 --out models/calibration.json

Only per-class aggregates leave the data: rates, means, deviations, correlations, bounds and the
shares of the most common port / window / segment values. No row is copied.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.dataset import Flows, load_flows
from models.features import FEATURE_NAMES
from models.overlap import drop_cross_file_repeats

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# The generator's joint log-normal core, in this order.
CORE = ("duration", "fwd_packets", "bwd_packets", "fwd_payload_mean", "bwd_payload_mean")
# Flag columns that are 0/1 in CICIDS2017 and not constant zero (CWE and the URG/PSH ones
# other than Fwd PSH Flags are always 0).
FLAGS = (
    "Fwd PSH Flags",
    *(name for name in FEATURE_NAMES if name.endswith("Flag Count") and name != "CWE Flag Count"),
)
TOP_VALUES = 8
MIN_ROWS_FOR_CORRELATION = 20
# CICFlowMeter's activity timeout: a gap longer than this ends an active period (microseconds).
ACTIVITY_TIMEOUT_US = 5_000_000


def _rate(mask: np.ndarray) -> float:
    return round(float(mask.mean()), 6) if mask.size else 0.0


def _shares(values: np.ndarray) -> dict[str, Any]:
    """The most common values with their shares, and the range the rest fall in."""
    if values.size == 0:
        return {"top": {}, "other_range": [0, 0]}
    unique, counts = np.unique(values, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:TOP_VALUES]
    top = {str(int(unique[i])): round(counts[i] / values.size, 6) for i in order}
    rest = values[~np.isin(values, unique[order])]
    other = [int(rest.min()), int(rest.max())] if rest.size else [0, 0]
    return {"top": top, "other_range": other}


def _log_stats(values: np.ndarray) -> list[float]:
    return _mean_std(np.log(values[values > 0]))


def _mean_std(values: np.ndarray) -> list[float]:
    if values.size == 0:
        return [0.0, 0.0]
    return [round(float(values.mean()), 6), round(float(values.std()), 6)]


def _class_statistics(x: dict[str, np.ndarray]) -> dict[str, Any]:
    duration = x["Flow Duration"]
    nf, nb = x["Total Fwd Packets"], x["Total Backward Packets"]
    fwd_total, bwd_total = x["Total Length of Fwd Packets"], x["Total Length of Bwd Packets"]
    core = np.column_stack(
        [
            duration,
            nf,
            nb,
            np.divide(fwd_total, nf, out=np.zeros_like(nf), where=nf > 0),
            np.divide(bwd_total, nb, out=np.zeros_like(nb), where=nb > 0),
        ]
    )
    positive = (core > 0).all(axis=1)
    correlation = np.eye(len(CORE))
    if positive.sum() >= MIN_ROWS_FOR_CORRELATION:
        logs = np.log(core[positive])
        varying = logs.std(axis=0) > 0
        inner = np.corrcoef(logs[:, varying], rowvar=False)
        correlation[np.ix_(varying, varying)] = np.atleast_2d(inner)
    several_fwd = (nf >= 2) & (fwd_total > 0)
    several_bwd = (nb >= 2) & (bwd_total > 0)
    fwd_mean = np.divide(fwd_total, nf, out=np.ones_like(nf), where=nf > 0)
    bwd_mean = np.divide(bwd_total, nb, out=np.ones_like(nb), where=nb > 0)
    long_gap = x["Flow IAT Max"] >= ACTIVITY_TIMEOUT_US
    header_extra = (x["Fwd Header Length"] - nf * x["min_seg_size_forward"]) / nf
    return {
        "rows": int(duration.size),
        "duration_minus_one_rate": _rate(duration == -1),
        "duration_zero_rate": _rate(duration == 0),
        "no_backward_rate": _rate(nb == 0),
        "fwd_empty_rate": _rate(fwd_total == 0),
        "bwd_empty_rate": _rate(bwd_total[nb > 0] == 0),
        "fwd_min_zero_rate": _rate(x["Fwd Packet Length Min"][several_fwd] == 0),
        "bwd_min_zero_rate": _rate(x["Bwd Packet Length Min"][several_bwd] == 0),
        "fwd_max_over_mean_log": _log_stats(
            x["Fwd Packet Length Max"][several_fwd] / fwd_mean[several_fwd]
        ),
        "bwd_max_over_mean_log": _log_stats(
            x["Bwd Packet Length Max"][several_bwd] / bwd_mean[several_bwd]
        ),
        "core": list(CORE),
        "core_log_mean_std": [_log_stats(core[:, i]) for i in range(len(CORE))],
        "core_log_correlation": np.round(correlation, 6).tolist(),
        "core_max": [float(core[:, i].max()) for i in range(len(CORE))],
        "payload_max": float(
            max(x["Fwd Packet Length Max"].max(), x["Bwd Packet Length Max"].max())
        ),
        "flag_rates": {name: _rate(x[name] > 0) for name in FLAGS},
        "destination_port": _shares(x["Destination Port"]),
        "init_win_forward": _shares(x["Init_Win_bytes_forward"]),
        "init_win_backward": _shares(x["Init_Win_bytes_backward"][nb > 0]),
        "min_seg_size_forward": _shares(x["min_seg_size_forward"]),
        "fwd_header_extra_per_packet_mean": round(float(header_extra.mean()), 6),
        "bwd_header_per_packet": _mean_std(x["Bwd Header Length"][nb > 0] / nb[nb > 0]),
        "idle_rate_after_long_gap": _rate(x["Idle Max"][long_gap] > 0),
    }


def calibrate(flows: Flows) -> dict[str, Any]:
    """Per-class aggregate statistics of labelled flows (raw values: -1, 0, Infinity kept)."""
    flows, repeats = drop_cross_file_repeats(flows)
    classes = {}
    for label, count in flows.class_counts().items():
        rows = flows.features[flows.labels == label]
        columns = {name: rows[:, i] for i, name in enumerate(FEATURE_NAMES)}
        classes[label] = _class_statistics(columns) | {"share": round(count / len(flows), 6)}
    return {
        "description": "Per-class aggregate statistics of real CICIDS2017 flows "
        "(written by models/calibrate.py; no rows).",
        "sources": [Path(source).name for source in flows.sources],
        "rows": len(flows),
        "cross_file_repeats_dropped": repeats,
        "classes": classes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.calibrate", description=__doc__)
    parser.add_argument("--data", nargs="+", required=True, metavar="PATH")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE, metavar="FILE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    calibration = calibrate(load_flows(args.data))
    args.out.write_text(json.dumps(calibration, indent=1) + "\n", encoding="utf-8")
    logging.info("wrote %s (%d classes)", args.out, len(calibration["classes"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
