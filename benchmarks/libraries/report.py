"""`libraries.md`: the figures of `libraries.json` as tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _range(entry: dict[str, Any], key: str, digits: int = 2) -> str:
    return (f"{entry[key + '_median']:.{digits}f} "
            f"({entry[key + '_min']:.{digits}f} to {entry[key + '_max']:.{digits}f})")  # fmt: skip


def write_markdown(results: dict[str, Any], path: Path) -> None:
    meta = results["meta"]
    machine = meta["machine"]
    lines = [
        "# Hand-written parts against libraries",
        "",
        f"{meta['date']}, revision {meta['revision']}, {machine.get('cpu', '?')} "
        f"({machine.get('cores', '?')} cores), {meta['rounds']} alternating rounds. "
        "Written by `python -m benchmarks.libraries`; raw figures in `libraries.json`. "
        "Differences are library minus ours: median (lowest to highest round).",
        "",
        "Versions: " + ", ".join(f"{name} {v}" for name, v in meta["versions"].items()),
        "",
    ]
    if "in_process" in results:
        lines += [
            "## Request path, in process (microseconds per request)",
            "",
            "| part | ours | library | difference |",
            "|---|---:|---:|---:|",
        ]
        for name, entry in results["in_process"].items():
            lines.append(
                f"| {entry['what']} ({name}) | {entry['ours_median_us']:.2f} | "
                f"{entry['library_median_us']:.2f} | {_range(entry, 'difference_us')} |"
            )
        lines.append("")
    if "http" in results:
        lines += [
            "## Request path over HTTP (single-row /predict; servers on one core, wrk on another)",
            "",
            "| library | ours req/s (c=8) | library req/s (c=8) | difference of 1/req/s (us) | "
            "server CPU per request, ours / library (us) | difference of CPU per request (us) | "
            "p50 difference at c=1 (us) | RSS ours / library (MB) | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, entry in results["http"].items():
            lines.append(
                f"| {name} | {entry['ours_rps_median']:,.0f} "
                f"| {entry['library_rps_median']:,.0f} "
                f"| {_range(entry, 'cpu_us_per_request')} "
                f"| {entry['ours_proc_cpu_us_median']:.1f} / "
                f"{entry['library_proc_cpu_us_median']:.1f} "
                f"| {_range(entry, 'proc_cpu_us_per_request')} "
                f"| {_range(entry, 'p50_difference_us', 1)} "
                f"| {entry['ours_rss_mb']:.1f} / {entry['library_rss_mb']:.1f} "
                f"| {entry['errors']} |"
            )
        lines.append("")
    if "workers" in results:
        lines += [
            "## Worker supervisors (`--workers 2`)",
            "",
            "| supervisor | ready (s) | supervisor RSS (MB) | workers RSS (MB) | "
            "a killed worker replaced | SIGTERM: exit status (s) | classes unpickled |",
            "|---|---:|---:|---:|---|---|---:|",
        ]
        for name, run in results["workers"].items():
            replaced = run["replaced_after_kill_s"]
            lines.append(
                f"| {name} | {run['ready_s']:.2f} | {run['supervisor_rss_mb']:.1f} | "
                + " + ".join(f"{mb:.1f}" for mb in run["workers_rss_mb"])
                + f" | {f'in {replaced:.1f} s' if replaced is not None else 'no (20 s)'} | "
                f"{run['sigterm_exit_status']} ({run['sigterm_exit_s']:.1f}) | "
                f"{len(run['unpickled'])} |"
            )
        lines.append("")
    if "off_path" in results:
        off = results["off_path"]
        lines += [
            "## Off the request path",
            "",
            "| what | ours | library | difference |",
            "|---|---:|---:|---:|",
        ]
        for name in ("starlette_config", "pydantic_settings", "apispec"):
            entry = off[name]
            lines.append(
                f"| {entry['what']} ({name}), us | {entry['ours_median_us']:.1f} | "
                f"{entry['library_median_us']:.1f} | {_range(entry, 'difference_us', 1)} |"
            )
        lines += [
            "",
            "| library | import time (ms) | resident memory added (MB) |",
            "|---|---:|---:|",
        ]
        for name, cost in off["imports"].items():
            lines.append(f"| {name} | {cost['import_ms']:.1f} | {cost['rss_mb']:.1f} |")
        lines.append("")
    if "tests" in results:
        lines += ["## Our tests against each library variant", ""]
        for name, run in results["tests"].items():
            failures = run["failures"]
            lines.append(
                f"- **{name}** ({', '.join(run['files'])}): {run['passed']} passed, "
                f"{len(failures)} failed, {run['skipped']} skipped"
            )
            lines += [f"  - `{f['test']}`: {f['reason']}" for f in failures]
        lines.append("")
    path.write_text("\n".join(lines))
