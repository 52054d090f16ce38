"""The Markdown report: summary of targets, machine, libraries, method, then every figure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from benchmarks.compute import Measurement
from benchmarks.http_load import HttpResult
from benchmarks.results import Results, targets
from benchmarks.timing import ROUNDS


def seconds(value: float) -> str:
    """A duration in the unit that reads best: 85.2 µs, 12.3 ms, 1.23 s."""
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if value < 1:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.2f} s"


def rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def summary_table(results: Results) -> list[str]:
    """The targets of the issue, each met, missed or not measured, with the measured figure."""
    return table(
        ["target", "goal", "measured", "status"],
        [[t.name, t.goal, t.measured, f"**{t.status}**"] for t in targets(results)],
    )


def _method(results: Results) -> list[str]:
    s = results.settings
    compute, load = s.compute_budget, s.load
    http = results.http
    pinning = (
        f"server pinned to CPU {http.server_cpu}, wrk to CPU {http.wrk_cpu} (taskset-style "
        "affinity), so the load generator never takes the server's core"
        if http and http.server_cpu is not None
        else "no CPU pinning (fewer than two usable cores)"
    )
    return [
        "## Method",
        "",
        f"- Mode: {'quick (every part, shortened: indicative figures)' if s.quick else 'full'}.",
        f"- Data: {results.data}. Rows are cleaned as in training (±inf and NaN become 0) "
        "before any path sees them, so the pickle path can take them.",
        "- Compute: every path of one model and batch size is timed in one loop of up to "
        f"{ROUNDS} rounds (`time.perf_counter_ns` around each call, garbage collector off); "
        "each round runs a block of every path's calls back to back, so that drift on a shared "
        "machine hits every path alike while each path runs warm, as in a service of its own "
        "(single calls interleaved would time each path with caches filled by another). "
        f"{compute.warmup} warm-up calls each, then about {compute.seconds:g} s of calls per path "
        f"({compute.min_reps} to {compute.max_reps} calls). Median and 99th percentile per call; "
        "rows/s at the median. Every path's labels and probabilities are checked against the "
        "pickle service path on the same rows before timing.",
        "- Paths: `service` = `scaler.transform`, `predict`, `predict_proba`, "
        "`label_encoder.inverse_transform` on the estimator as pickled; `tuned` = the same "
        "estimator with n_jobs=1 and one `predict_proba` + argmax; `inplace_predict` = XGBoost's "
        f"booster on float32 rows scaled beforehand (not timed), nthread={s.threads}; `onnx` = "
        f"the artifact in onnxruntime, raw float64 rows in, intra-op threads={s.threads}.",
        f"- HTTP: one server at a time, {pinning}. wrk with a Lua script per payload set, "
        f"{load.warmup_s:g} s warm-up then {load.duration_s:g} s (longer for slow servers, up to "
        f"{load.max_duration_s:g} s, or a few sequential requests when one request outlasts "
        "that). Single predictions rotate over 100 distinct rows. Batches (1000 rows) run one "
        "request at a time; rows/s = rows / mean latency. Errors = non-2xx answers + socket "
        "errors. The floor answers the server's own answer bodies (same size) without parsing or "
        "inference. uvicorn's access log is off for every server.",
        f"- Scaling: as compute, with {s.scaling_budget.seconds:g} s per path; forests retrained "
        "with the pickled forest's settings, unlimited depth, and converted like the product.",
        f"- Footprint: {s.footprint_starts} start(s), unpinned; ready = first 200 from the ready "
        "route, timed from just before the process is spawned; RSS (VmRSS) once ready and after "
        "one prediction per model; peak = VmHWM.",
        "",
    ]


def _compute_rows(
    measurements: Sequence[Measurement], groups: Sequence[object] | None = None
) -> list[list[str]]:
    """One row per measurement; the speed-up is against the ONNX path of the same group
    (model and batch size, unless `groups` says otherwise, as forest sizes do)."""
    keys = groups or [(m.model, m.batch) for m in measurements]
    onnx = {k: m.median_s for k, m in zip(keys, measurements, strict=True) if m.path == "onnx"}
    rows = []
    for key, m in zip(keys, measurements, strict=True):
        speedup = onnx.get(key)
        rows.append(
            [
                m.model,
                f"{m.batch:,}",
                m.path,
                seconds(m.median_s),
                seconds(m.p99_s),
                rate(m.rows_per_s),
                f"{m.median_s / speedup:,.1f}x" if speedup else "—",
                str(m.reps),
                f"{m.label_mismatches} / {m.max_probability_difference:.1g}",
            ]
        )
    return rows


def _large_batches(measurements: Sequence[Measurement]) -> list[str]:
    """Each model's large batch at each thread count, against the server's batch path."""
    batch = {(m.model, m.threads): m.median_s for m in measurements if m.path == "onnx_batch"}
    rows = []
    for m in measurements:
        ours = batch.get((m.model, m.threads))
        rows.append(
            [
                m.model,
                str(m.threads),
                m.path,
                seconds(m.median_s),
                rate(m.rows_per_s),
                f"{m.median_s / ours:,.2f}x" if ours else "—",
                str(m.reps),
                f"{m.label_mismatches} / {m.max_probability_difference:.1g}",
            ]
        )
    rows_count = f"{measurements[0].batch:,}"
    return [
        f"## Large batches ({rows_count} rows, 1 and 2 threads)",
        "",
        "Threads: onnxruntime's intra-op threads (`onnx`), concurrent runs of the batch graph "
        "on one thread each (`onnx_batch`, the server's large-batch path), XGBoost's nthread "
        "(`inplace_predict`), the forest's n_jobs (`tuned`); `service` runs the estimator as "
        "pickled. Speed-up: the path's time over `onnx_batch`'s at the same thread count.",
        "",
        *table(
            ["model", "threads", "path", "median", "rows/s", "batch graph speed-up", "calls",
             "label mismatches / max prob. diff"],
            rows,
        ),
    ]  # fmt: skip


COMPUTE_HEADER = [
    "model",
    "rows",
    "path",
    "median",
    "p99",
    "rows/s",
    "ONNX speed-up",
    "calls",
    "label mismatches / max prob. diff",
]


def _http(results: Results) -> list[str]:
    http = results.http
    if http is None:
        return []
    lines = ["## HTTP", ""]
    singles = [r for r in http.results if r.rows == 1]
    base = {r.connections: r.result.requests_per_s for r in singles if r.service == "baseline"}
    floor = {r.connections: r.result.requests_per_s for r in singles if r.service == "floor"}

    def versus(r: HttpResult, other: dict[int, float]) -> str:
        ref = other.get(r.connections)
        return f"{r.result.requests_per_s / ref:,.2f}x" if ref else "—"

    lines += ["Single predictions (`POST /predict`, random_forest):", ""]
    lines += table(
        ["server", "connections", "req/s", "p50", "p99", "errors", "vs baseline", "vs floor"],
        [
            [
                r.service,
                str(r.connections),
                rate(r.result.requests_per_s),
                seconds(r.result.latency_p50_s),
                seconds(r.result.latency_p99_s),
                str(r.result.errors),
                versus(r, base),
                versus(r, floor),
            ]
            for r in singles
        ],
    )
    lines += ["Batches of 1000 rows (random_forest), one request at a time:", ""]
    lines += table(
        ["server", "payload", "rows/s", "mean per request", "requests", "errors", "tool"],
        [
            [
                r.service,
                r.scenario,
                rate(r.rows_per_s),
                seconds(r.result.latency_mean_s),
                str(r.result.requests),
                str(r.result.errors),
                r.tool,
            ]
            for r in http.results
            if r.rows > 1
        ],
    )
    for failure in http.failures:
        first = failure.message.splitlines()[0] if failure.message else ""
        lines.append(f"- **{failure.service} / {failure.scenario} failed**: {first}")
    return [*lines, ""] if http.failures else lines


def _scaling(results: Results) -> list[str]:
    if not results.batch_scaling and not results.forest_scaling:
        return []
    lines = ["## Scaling", ""]
    lines += [f"![{plot.stem}]({plot.name})" for plot in results.plots]
    lines.append("")
    # The plot shows every batch size; the table only those the compute section does not hold.
    beyond = [m for m in results.batch_scaling if m not in results.compute]
    if beyond:
        shown = "Cost against batch size"
        if len(beyond) < len(results.batch_scaling):
            shown += " beyond the batch sizes of the compute section above"
        lines += [f"{shown}:", ""]
        lines += table(COMPUTE_HEADER, _compute_rows(beyond))
    if results.forest_scaling:
        lines += ["Random forest size (unlimited depth):", ""]
        forests = results.forest_scaling
        rows = _compute_rows(
            [f.measurement for f in forests], [(f.trees, f.measurement.batch) for f in forests]
        )
        lines += table(
            ["trees", *COMPUTE_HEADER[1:]],
            [[str(f.trees), *row[1:]] for f, row in zip(forests, rows, strict=True)],
        )
    return lines


def _footprint(results: Results) -> list[str]:
    if not results.footprints:
        return []
    return [
        "## Footprint",
        "",
        *table(
            ["server", "start to ready (median)", "starts", "RSS ready", "RSS serving", "peak RSS"],
            [
                [
                    f.service,
                    seconds(f.ready_median_s),
                    str(len(f.ready_s)),
                    f"{f.rss_ready_bytes / 1e6:.1f} MB",
                    f"{f.rss_serving_bytes / 1e6:.1f} MB",
                    f"{f.peak_rss_bytes / 1e6:.1f} MB",
                ]
                for f in results.footprints
            ],
        ),
    ]


def render(results: Results) -> str:
    """The whole report as Markdown."""
    m = results.machine
    lines = [
        f"# Benchmarks: {results.started:%Y-%m-%d %H:%M} on {m.slug}",
        "",
        "Pickle baseline (the old FastAPI service's design) against the ONNX artifacts and "
        "server, measured side by side in one run. Ratios are the figures to read: absolute "
        "times drift on shared hardware.",
        "",
        f"Code: ids-inference at revision `{results.revision}`.",
        "",
        "## Summary",
        "",
        *summary_table(results),
        "## Machine",
        "",
        f"- CPU: {m.cpu}, {m.cores} cores ({m.usable_cores} usable)",
        f"- Memory: {m.memory_bytes / 2**30:.1f} GiB",
        f"- Kernel: {m.kernel}; Python {m.python}",
        "",
        "## Libraries",
        "",
        *table(["library", "version"], [[k, v] for k, v in results.versions.items()]),
        *_method(results),
    ]
    if results.compute:
        lines += [
            "## In-process compute",
            "",
            *table(COMPUTE_HEADER, _compute_rows(results.compute)),
        ]
    if results.large_batches:
        lines += _large_batches(results.large_batches)
    lines += _http(results) + _scaling(results) + _footprint(results)
    if results.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in results.notes], ""]
    return "\n".join(lines)
