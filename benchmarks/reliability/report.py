"""`reliability.md`: every figure of the last full run, grouped by what was tried, each with the
command that reproduces it and the outcome of the test that measured it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.machine import Machine
from benchmarks.reliability.audit import NOT_AUDITED, Audit

Format = Callable[[Any], str]
TRIAGE = Path(__file__).with_name("triage.md")  # hand-written, appended to every report


def _int(value: Any) -> str:
    return f"{value:,}"


def _ms(value: Any) -> str:
    return f"{value:.2f} ms"


def _mb(value: Any) -> str:
    return f"{value:.1f} MB"


def _pct(value: Any) -> str:
    return f"{value * 100:+.1f} %"


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


@dataclass(frozen=True)
class Kind:
    """How one kind of figure is shown: its section and its columns (header, key, format)."""

    section: str
    columns: Sequence[tuple[str, str, Format]]


REFUSED_RELOAD = [
    ("reload answer", "reload_status", _text), ("reason given", "reason", _text),
    ("requests during", "requests", _int), ("failed", "failed", _int),
]  # fmt: skip
KINDS: dict[str, Kind] = {
    "schemathesis": Kind("Generated requests (schemathesis, /openapi.json)", [
        ("cases", "cases", _int), ("operations", "operations", _int),
        ("with failures", "with_failures", _int), ("errored", "errored", _int),
        ("phases", "phases", _text), ("warnings", "warnings", _text), ("seed", "seed", _text),
    ]),
    "bad_requests": Kind("Arbitrary requests into every decoder (hypothesis, over HTTP)", [
        ("cases", "cases", _int), ("statuses", "statuses", _text),
    ]),
    "raw_socket": Kind("Arbitrary bytes on the socket (hypothesis)", [
        ("cases", "cases", _int), ("bytes", "bytes", _int),
    ]),
    "load": Kind("Load (wrk, RSS from /proc)", [
        ("shape", "shape", _text), ("connections", "connections", _int),
        ("seconds", "duration_s", lambda v: f"{v:.0f}"), ("requests", "requests", _int),
        ("req/s", "requests_per_s", lambda v: f"{v:,.0f}"), ("p50", "p50_ms", _ms),
        ("p99", "p99_ms", _ms), ("errors", "errors", _int), ("RSS start", "rss_start_mb", _mb),
        ("RSS end", "rss_end_mb", _mb), ("growth", "rss_growth", _pct),
    ]),
    "sigterm": Kind("SIGTERM under load", [
        ("workers", "workers", _int), ("load before", "load_s", lambda v: f"{v:.0f} s"),
        ("sent before SIGTERM", "sent_before", _int),
        ("in flight at SIGTERM", "in_flight_at_signal", _int), ("answered", "answered", _int),
        ("lost", "lost", _int), ("non-2xx", "non_2xx", _int),
        ("sent after", "sent_after", _int), ("exit code", "exit_code", _text),
    ]),
    "reloads": Kind("Hot reloads under load", [
        ("reloads", "reloads", _int), ("requests", "requests", _int),
        ("failed", "failed", _int), ("versions served", "versions", _text),
    ]),
    "corrupt_artifact": Kind("A flipped byte in an artifact", [
        *REFUSED_RELOAD, ("version served after", "served_version", _text),
    ]),
    "deleted_repository": Kind("The artifact folder deleted while serving", REFUSED_RELOAD),
    "slow_clients": Kind("Slow clients trickling requests", [
        ("slow sockets", "sockets", _int), ("seconds", "trickle_s", lambda v: f"{v:.0f}"),
        ("bytes trickled", "bytes_sent", _int), ("head tricklers", "heads", _text),
        ("body tricklers", "bodies", _text),
        ("other requests", "others_sent", _int), ("lost", "others_lost", _int),
        ("non-2xx", "others_non_2xx", _int), ("others' p50 calm / during", "calm_p50_ms",
         _ms), ("", "others_p50_ms", _ms), ("others' p99 calm / during", "calm_p99_ms", _ms),
        ("", "others_p99_ms", _ms), ("others' max during", "others_max_ms", _ms),
    ]),
    "overload": Kind("Overload beyond IDS_MAX_CONCURRENCY", [
        ("limit", "limit", _int), ("held in flight", "held", _int),
        ("extra requests", "extra", _int), ("answered 503", "refused", _int),
        ("with Retry-After", "retry_after", _int), ("503 p99", "refused_p99_ms", _ms),
        ("held requests answered 200", "held_ok", _int),
    ]),
    "auth": Kind("Auth on every route", [
        ("routes walked", "routes", _int), ("protected", "protected", _int),
        ("open (health)", "open", _text), ("checks", "checks", _int),
    ]),
    "secrets": Kind("Tokens in responses and logs", [
        ("requests", "requests", _int), ("log lines", "log_lines", _int),
        ("token found", "found", _int),
    ]),
    "image": Kind("The image's user (scripts/image-smoke)", [
        ("passed", "passed", _text), ("user", "runs_as", _text),
        ("processes", "processes", _text),
    ]),
}  # fmt: skip


def _table(kind: Kind, records: list[dict[str, Any]], outcomes: dict[str, str]) -> list[str]:
    # A column with an empty header continues the previous one ("calm / during").
    merged = [header for header, _, _ in kind.columns if header]
    lines = [
        "| test | " + " | ".join(merged) + " | outcome |",
        "|" + "---|" * (len(merged) + 2),
    ]
    for item in records:
        cells: list[str] = []
        for header, key, fmt in kind.columns:
            value = fmt(item[key]) if key in item and item[key] is not None else "-"
            if header or not cells:
                cells.append(value)
            else:
                cells[-1] += f" / {value}"
        name = item["test"].split("::", 1)[1]
        lines.append(
            f"| `{name}` | " + " | ".join(cells) + f" | {outcomes.get(item['test'], '?')} |"
        )
    return lines


def _commands(records: list[dict[str, Any]]) -> list[str]:
    lines = ["", "Reproduce:", "", "```sh"]
    for item in records:
        marker = " -m reliability_full" if item.get("full") else ""
        lines.append(f'.venv/bin/pytest "{item["test"]}"{marker}')
        if "command" in item:
            lines.append(f"#   runs: {item['command']}")
    return [*lines, "```"]


def _audit(audit: Audit) -> list[str]:
    sources = ", ".join(
        f"{count} {source if source == NOT_AUDITED else 'checked by ' + source}"
        for source, count in audit.checked_by().items()
    )
    lines = [
        "## Dependency audit (`serve` extra)",
        "",
        f"`{' '.join(audit.command[1:])}` (pip-audit) on the set a fresh `pip install "
        f"'.[serve]'` resolves to here: {len(audit.dependencies)} packages, {sources}; "
        f"{audit.findings} advisories found.",
        "",
        "pip-audit said:",
        "",
        "```",
        *audit.pip_audit_output.splitlines()[-5:],
        "```",
        "",
        "| package | version | checked by | advisories | note |",
        "|---|---|---|---|---|",
    ]
    for dep in audit.dependencies:
        found = "; ".join(f"{a['id']} (fixed in {a['fixed_in']})" for a in dep.advisories) or (
            "none" if dep.source != NOT_AUDITED else "unknown"
        )
        lines.append(f"| {dep.name} | {dep.version} | {dep.source} | {found} | {dep.note} |")
    return lines


def render(
    figures: list[dict[str, Any]],
    outcomes: dict[str, str],
    audit: Audit | None,
    machine: Machine,
    header: dict[str, str],
) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    lines = [
        "# Reliability: what the server survives, counted",
        "",
        *(f"- {name}: {value}" for name, value in header.items()),
        f"- machine: {machine.cpu}, {machine.usable_cores} of {machine.cores} cores, "
        f"{machine.memory_bytes / 2**30:.0f} GiB, {machine.kernel}, Python {machine.python}",
        "- tests: " + ", ".join(f"{count} {name}" for name, count in sorted(counts.items())),
        "",
    ]
    failed = sorted(node for node, outcome in outcomes.items() if outcome in {"failed", "error"})
    if failed:
        lines += ["**Failed:**", "", *(f"- `{node}`" for node in failed), ""]
    for kind_name, kind in KINDS.items():
        records = [item for item in figures if item["kind"] == kind_name]
        if not records:
            continue
        lines += [f"## {kind.section}", "", *_table(kind, records, outcomes), *_commands(records)]
        lines.append("")
    if audit is not None:
        lines += [*_audit(audit), ""]
    lines.append(TRIAGE.read_text().rstrip())
    return "\n".join(lines) + "\n"
