"""The file benchmark's markdown report."""

from __future__ import annotations

from typing import Any

MB = 1024 * 1024


def render(result: dict[str, Any]) -> list[str]:
    ours, cfm, capture = result["ours"], result["cfm"], result["capture"]
    machine = result["machine"]
    lines = [
        "# Flow meter: ours against CICFlowMeter (`cfm`)",
        "",
        f"`{result['command']}` at {result['revision']}, {result['when']}, on {machine['cpu']} "
        f"({machine['cores']} cores, {machine['memory_bytes'] / MB / 1024:.1f} GB), "
        f"Python {machine['python']}.",
        "",
        f"Capture: `{capture['path']}`, {capture['packets']:,} packets "
        f"({capture['bytes'] / MB:.0f} MB). Each tool end to end (start, read, meter, write the "
        "CSV), pinned to one core, the two alternating; median of "
        f"{len(ours['runs'])} runs each.",
        "",
        "| tool | median time | packets/s | median CPU time | packets per CPU second "
        "| peak RSS | runs: wall / CPU (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool in (ours, cfm):
        runs = ", ".join(f"{run['seconds']:.2f} / {run['cpu_seconds']:.2f}" for run in tool["runs"])
        lines.append(
            f"| {tool['tool']} | {tool['median_seconds']:.2f} s | "
            f"{tool['packets_per_second']:,.0f} | {tool['median_cpu_seconds']:.2f} s | "
            f"{tool['packets_per_cpu_second']:,.0f} | {tool['peak_rss_bytes'] / MB:.0f} MB | "
            f"{runs} |"
        )
    lines += [
        "",
        f"Ours / cfm: **{result['ratio']:.1f}x** the packets per second of wall time, "
        f"**{result['cpu_ratio']:.1f}x** per second of CPU time.",
        "",
    ]
    twice = result.get("twice")
    if twice:
        lines += [
            f"Memory on the same traffic twice over (`{twice['path']}`, {twice['packets']:,} "
            f"packets): ours {twice['ours_peak_rss_bytes'] / MB:.0f} MB peak "
            f"(against {ours['peak_rss_bytes'] / MB:.0f} MB on the capture), "
            f"cfm {twice['cfm_peak_rss_bytes'] / MB:.0f} MB "
            f"(against {cfm['peak_rss_bytes'] / MB:.0f} MB).",
            "",
        ]
    return lines
