"""One scoring run: check everything that can be checked before the first row (models, inputs'
headers, the output folder), then read, score and write chunk by chunk, in order.

With one job the main process does it all. With N jobs, N worker processes (spawned: no
onnxruntime threads are forked) each read, score and return whole chunks, and the main process
writes the results in input order; at most 2N chunks are in flight, so memory stays bounded
whatever the file size.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from flows.paths import output_problem
from score.chunks import Rejected, Result, ScorerKey, keep_scorer, process
from score.errors import BadRowError, ScoreError
from score.layout import IDENTIFIERS, Layout, locate
from score.models import ModelSpec, check_specs, load_models
from score.progress import Progress, Summary
from score.scoring import Scorer
from score.sources import Source, Task, open_source, tasks
from score.writing import Output, RejectedRows, output_format, rejected_path

ON_BAD_ROW = ("error", "skip")
WORKERS = ("threads", "processes")
# Measured on the real-data random forest (docs/score.md): 20,000-row chunks run 2,000 rows at a
# time hold 239 MB at peak where 50,000-row chunks in one run hold 587 MB, for the same CPU time.
CHUNK_ROWS = 20_000
BATCH_ROWS = 2_000


@dataclass(frozen=True)
class Run:
    inputs: Sequence[Path]
    output: Path
    artifacts: Path
    specs: tuple[ModelSpec, ...]
    jobs: int = 1
    threads: int = 1  # intra-op threads per job
    chunk_rows: int = CHUNK_ROWS
    batch_rows: int = BATCH_ROWS
    on_bad_row: str = "error"
    workers: str = "threads"


def prepare(run: Run) -> tuple[Scorer, ScorerKey, list[Source], list[Layout]]:
    """Load the models and read every input's header; nothing is written yet."""
    if run.on_bad_row not in ON_BAD_ROW:
        raise ScoreError(f"--on-bad-row {run.on_bad_row!r}: choose from {', '.join(ON_BAD_ROW)}")
    if not run.inputs:
        raise ScoreError("no input files")
    output_format(run.output)
    problem = output_problem(run.output)
    if problem is not None:
        raise ScoreError(problem)
    for path in run.inputs:
        if path.resolve() in {run.output.resolve(), rejected_path(run.output).resolve()}:
            raise ScoreError(f"{path}: is both an input and the output")
    check_specs(run.specs)
    models = load_models(run.artifacts, run.specs, run.threads)
    feature_names = Scorer(tuple(models), run.specs, ()).feature_names
    sources = [open_source(path) for path in run.inputs]
    layouts = [locate(source.header, feature_names, str(source.path)) for source in sources]
    found = {name for layout in layouts for name, _ in layout.identifiers}
    identifiers = tuple(name for name in IDENTIFIERS if name in found)
    key = ScorerKey(
        str(run.artifacts.resolve()), run.specs, run.threads, identifiers, run.batch_rows
    )
    scorer = Scorer(tuple(models), run.specs, identifiers, run.batch_rows)
    keep_scorer(key, scorer)
    return scorer, key, sources, layouts


def score_files(run: Run, progress: Progress | None = None) -> Summary:
    """Score every input into `run.output`; the summary of what was done."""
    start = time.monotonic()
    scorer, key, sources, layouts = prepare(run)
    summary = Summary(str(run.output), inputs=len(sources))
    output = Output(run.output, scorer.schema)
    rejected_rows = RejectedRows(run.output)
    lines_before = [0] * len(sources)
    try:
        for result in _results(run, key, sources, layouts):
            source = sources[result.source]
            # CSV lines count the header (line 1); Parquet rows count from 1.
            base = lines_before[result.source] + (1 if source.unit == "line" else 0)
            lines_before[result.source] += result.lines
            if result.rejected:
                rejected = [_absolute(row, base) for row in result.rejected]
                if run.on_bad_row == "error":
                    first = rejected[0]
                    raise BadRowError(
                        f"{first.source}: {source.unit} {first.line}: {first.reason} (use "
                        f"--on-bad-row skip to skip such rows and list them in "
                        f"{rejected_path(run.output).name})"
                    )
                rejected_rows.write(rejected)
                for row in rejected:
                    summary.rejected[row.kind] = summary.rejected.get(row.kind, 0) + 1
            write_start = time.thread_time()
            output.write(result.table)
            summary.add_stages({**result.seconds, "write": time.thread_time() - write_start})
            summary.rows += result.table.num_rows
            summary.blank += result.blank
            for spec, counts in zip(run.specs, result.counts, strict=True):
                summary.add_counts(spec.label, counts)
            if progress is not None:
                progress.update(result.table.num_rows, result.progress)
    except BaseException:
        output.abort()
        rejected_rows.abort()
        raise
    finally:
        if progress is not None:
            progress.close()
    try:
        output.commit()
        rejected_rows.commit()
    except OSError as error:
        output.abort()
        rejected_rows.abort()
        raise ScoreError(f"cannot write {run.output} ({error.strerror or error})") from None
    if rejected_rows.rows:
        summary.rejected_file = str(rejected_rows.path)
    summary.seconds = time.monotonic() - start
    return summary


def _absolute(row: Rejected, base: int) -> Rejected:
    return Rejected(row.source, base + row.line, row.kind, row.reason, row.raw)


def _numbered(
    sources: Sequence[Source], layouts: Sequence[Layout], chunk_rows: int
) -> Iterator[Task]:
    counter = itertools.count()
    for index, (source, layout) in enumerate(zip(sources, layouts, strict=True)):
        for task in tasks(source, index, layout, chunk_rows):
            yield Task(
                next(counter),
                task.source,
                task.layout,
                task.progress,
                task.path,
                task.start,
                task.end,
                task.data,
                task.table,
            )


def _results(
    run: Run, key: ScorerKey, sources: Sequence[Source], layouts: Sequence[Layout]
) -> Iterator[Result]:
    chunks = _numbered(sources, layouts, run.chunk_rows)
    if run.jobs <= 1:
        yield from (process(key, task) for task in chunks)
        return
    pool: Executor
    if run.workers == "threads":
        pool = ThreadPoolExecutor(max_workers=run.jobs, thread_name_prefix="score")
    else:
        pool = ProcessPoolExecutor(max_workers=run.jobs, mp_context=get_context("spawn"))
    with pool:
        pending: deque[Future[Result]] = deque()
        try:
            for task in chunks:
                pending.append(pool.submit(process, key, task))
                if len(pending) >= 2 * run.jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
