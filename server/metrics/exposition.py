"""Every process's series added up and written in the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

from collections.abc import Iterable

from server.metrics.families import FAMILIES, MODEL_INFO, Family
from server.metrics.store import Key, ProcessValues

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def aggregate(processes: Iterable[ProcessValues]) -> dict[Key, list[float]]:
    """Counters and histograms summed over every process that ever wrote here, gauges over the
    live ones only."""
    totals: dict[Key, list[float]] = {}
    for process in processes:
        for key, values in process.series:
            family = FAMILIES.get(key[0])
            if family is None or (family.kind == "gauge" and not process.live):
                continue
            total = totals.get(key)
            if total is None:
                totals[key] = list(values)
            else:
                for index, value in enumerate(values):
                    total[index] += value
    return totals


def render(totals: dict[Key, list[float]]) -> bytes:
    by_family: dict[str, list[tuple[tuple[str, ...], list[float]]]] = {}
    for (name, labels), values in totals.items():
        by_family.setdefault(name, []).append((labels, values))
    lines: list[str] = []
    for name, family in FAMILIES.items():
        lines.append(f"# HELP {name} {family.help}")
        lines.append(f"# TYPE {name} {family.kind}")
        for labels, values in sorted(by_family.get(name, [])):
            lines.extend(_series(family, labels, values))
    return ("\n".join(lines) + "\n").encode()


def _series(family: Family, labels: tuple[str, ...], values: list[float]) -> list[str]:
    pairs = list(zip(family.labels, labels, strict=True))
    if family.kind != "histogram":
        if family is MODEL_INFO:
            if values[0] <= 0:  # unloaded since
                return []
            values = [1.0]  # loaded, however many workers have it
        return [f"{family.name}{_labels(pairs)} {_number(values[0])}"]
    lines = []
    cumulative = 0.0
    bounds = [repr(float(bound)) for bound in family.buckets] + ["+Inf"]
    for bound, count in zip(bounds, values, strict=False):
        cumulative += count
        bucket = _labels([*pairs, ("le", bound)])
        lines.append(f"{family.name}_bucket{bucket} {_number(cumulative)}")
    lines.append(f"{family.name}_sum{_labels(pairs)} {_number(values[-1])}")
    lines.append(f"{family.name}_count{_labels(pairs)} {_number(cumulative)}")
    return lines


def _labels(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
