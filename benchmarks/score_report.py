"""The markdown report of `python -m benchmarks.score`, with the issue's goals read from it."""

from __future__ import annotations

from statistics import median
from typing import Any

COMPUTE_GOAL = 0.7  # end to end at least 0.7x of in-process compute
OLD_GOAL = 1.0  # at least 1x the old way, every model
RSS_GOAL = 500 * 1024 * 1024


def _mb(size: float) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def ratios(entry: dict[str, Any]) -> dict[str, float]:
    runs = entry["end_to_end"]
    e2e = median(run["rows"] / run["seconds"] for run in runs)
    return {
        "end_to_end": e2e,
        "compute": median(entry["compute_rows_per_s"]),
        "old": median(entry["old_rows_per_s"]),
        "vs_compute": e2e / median(entry["compute_rows_per_s"]),
        "vs_old": e2e / median(entry["old_rows_per_s"]),
        "rss": max(run["peak_rss_bytes"] for run in runs),
        "cpu_end_to_end": median(run["rows"] / run["cpu_seconds"] for run in runs),
        "cpu_compute": median(entry["compute_rows_per_cpu_s"]),
        "cpu_old": median(entry["old_rows_per_cpu_s"]),
    }


def render(document: dict[str, Any]) -> str:
    machine = document["machine"]
    file = document["file"]
    lines = [
        "# Bulk scoring: `ids-inference score` end to end, against in-process compute and the "
        "old way",
        "",
        f"Run {document['started']} at git {document['git']}, `python -m benchmarks.score`, on "
        f"{machine['cpu']} ({machine['usable_cores']} usable cores, "
        f"{machine['memory_bytes'] / 2**30:.0f} GiB), {machine['kernel']}, Python "
        f"{machine['python']}. Load average at the end: "
        + ", ".join(f"{x:.1f}" for x in document["load_average"])
        + " (the machine is shared: absolute rates move, ratios within a round hold better).",
        "",
        f"Models {document['models']}. File: `{file['name']}`, {file['rows']:,} synthetic "
        f"CICIDS2017 flows (MachineLearningCVE layout, `models.make_csv`), "
        f"{file['bytes'] / 1e9:.2f} GB.",
        "",
        "| model | jobs | end to end rows/s | in-process compute rows/s | old way rows/s | "
        "vs compute (goal >= 0.7x) | vs old way (goal >= 1x) | peak RSS, process tree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    all_rss = []
    compute_met = old_met = True
    for entry in document["measured"]:
        r = ratios(entry)
        all_rss.append(r["rss"])
        compute_met &= r["vs_compute"] >= COMPUTE_GOAL
        old_met &= r["vs_old"] >= OLD_GOAL
        lines.append(
            f"| {entry['model']} | {entry['jobs']} | {r['end_to_end']:,.0f} | "
            f"{r['compute']:,.0f} ({entry['compute_how'][0]}) | {r['old']:,.0f} | "
            f"{r['vs_compute']:.2f}x | {r['vs_old']:.2f}x | {_mb(r['rss'])} |"
        )
    memory = document["memory"]
    all_rss += [run["peak_rss_bytes"] for run in memory]
    lines += [
        "",
        "The same runs per CPU second (user + system time of every thread and process): what "
        "each row costs, whatever the neighbours on a shared machine were doing.",
        "",
        "| model | jobs | end to end rows/CPU-s | compute rows/CPU-s | old way rows/CPU-s | "
        "vs compute | vs old way |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in document["measured"]:
        r = ratios(entry)
        lines.append(
            f"| {entry['model']} | {entry['jobs']} | {r['cpu_end_to_end']:,.0f} | "
            f"{r['cpu_compute']:,.0f} | {r['cpu_old']:,.0f} | "
            f"{r['cpu_end_to_end'] / r['cpu_compute']:.2f}x | "
            f"{r['cpu_end_to_end'] / r['cpu_old']:.2f}x |"
        )
    lines += [
        "",
        "In-process compute: the model through the server's inference core "
        "(`server.model.Model.predict`, large batches) on "
        f"{document['compute_rows']:,} rows already in memory, in the command line's chunks "
        "(the better of one model whose large batches use J threads and J threads sharing a "
        "one-thread model). Old way: "
        "pandas `read_csv` of the whole file, the training's cleaning, the pickled scaler, "
        "`predict` and `predict_proba` with `n_jobs` = J (the decision tree has none).",
        "",
        "## Where the time goes end to end",
        "",
        "Seconds per stage summed over the jobs (`--summary-json`): read (the bytes), parse "
        "(Arrow's CSV reader), features (the float64 matrix), onnxruntime, output (the Arrow "
        "columns), write (Parquet, main thread).",
        "",
        "| model | jobs | wall s | " + " | ".join(STAGES) + " |",
        "|---|---|---|" + "---|" * len(STAGES),
    ]
    for entry in document["measured"]:
        run = entry["end_to_end"][0]
        stages = run["stages"]
        lines.append(
            f"| {entry['model']} | {entry['jobs']} | {run['seconds']:.1f} | "
            + " | ".join(f"{stages.get(stage, 0.0):.1f}" for stage in STAGES)
            + " |"
        )
    if memory:
        lines += [
            "",
            "## Memory: the file and one twice its size",
            "",
            "| file | rows | jobs | peak RSS, process tree | largest process |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {run['file']} | {run['rows']:,} | {run['jobs']} | {_mb(run['peak_rss_bytes'])} | "
            f"{_mb(run['peak_process_rss_bytes'])} |"
            for run in memory
        ]
    rss_met = max(all_rss) < RSS_GOAL
    lines += [
        "",
        "## Goals",
        "",
        f"- End to end at least {COMPUTE_GOAL}x of in-process compute, every model and job "
        f"count: {_verdict(compute_met)}.",
        f"- At least {OLD_GOAL:.0f}x the old way for every model: {_verdict(old_met)}.",
        f"- Peak RSS under {_mb(RSS_GOAL)} whatever the file size: {_verdict(rss_met)} "
        f"(highest: {_mb(max(all_rss))}).",
        "",
        "docs/score.md explains each figure.",
        "",
    ]
    return "\n".join(lines)


STAGES = ("read", "parse", "features", "onnxruntime", "output", "write")
