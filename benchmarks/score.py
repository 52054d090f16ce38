"""`python -m benchmarks.score`: bulk scoring of a CICIDS2017-sized file, three ways, side by side.

    python -m benchmarks.score [--rows 2000000] [--jobs 1,2] [--models ...] [--rounds 1]
                               [--data DIR] [--out DIR] [--work DIR]

For every model and job count, in one run, interleaved round by round:
- end to end: `ids-inference score FILE -o OUT.parquet --jobs J` as a user runs it (a process of
  its own), rows/s from its wall time, peak RSS of its process tree sampled every 50 ms, and the
  seconds it spent per stage (`--summary-json`);
- in-process compute: the same model through the server's inference core on rows already in
  memory, at the same thread count, in the command line's chunks (the better of one model whose
  large batches use J threads and J threads sharing a one-thread model);
- the old way: pandas `read_csv` of the file, the training's cleaning, the pickled scaler, and the
  pickled model's own `predict` and `predict_proba` (n_jobs = J).
Then peak RSS end to end on the file and on one twice its size. Writes
`<out>/<date>-<machine>-score.md` and `.json` (git revision, machine, library versions).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from benchmarks.machine import describe_machine, git_revision, library_versions
from benchmarks.prepare import PROJECT_ROOT, find_data, prepare
from benchmarks.score_report import render
from models.features import FEATURE_NAMES
from models.make_csv import write_synthetic_csv
from models.pickle_set import PickleSet, load_pickle_set
from score.layout import locate
from score.models import ModelSpec, load_models
from score.run import BATCH_ROWS, CHUNK_ROWS
from server.model import Model, predict_in_batches

MODELS = ("random_forest", "xgboost", "decision_tree")
COMPUTE_ROWS = 200_000  # rows the in-process compute runs over (tree cost is per row)
SAMPLE_SECONDS = 0.05


@dataclass
class EndToEnd:
    model: str
    jobs: int
    rows: int
    seconds: float
    peak_rss_bytes: int  # sum over the process tree, at its highest
    peak_process_rss_bytes: int  # the largest single process
    stages: dict[str, float]
    file: str
    cpu_seconds: float  # user + system of the command's process tree

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


@dataclass
class Measured:
    model: str
    jobs: int
    end_to_end: list[EndToEnd] = field(default_factory=list)
    compute_rows_per_s: list[float] = field(default_factory=list)
    compute_how: list[str] = field(default_factory=list)
    compute_rows_per_cpu_s: list[float] = field(default_factory=list)
    old_rows_per_cpu_s: list[float] = field(default_factory=list)
    old_rows_per_s: list[float] = field(default_factory=list)
    old_read_seconds: list[float] = field(default_factory=list)
    old_predict_seconds: list[float] = field(default_factory=list)


# --- the file -------------------------------------------------------------------------------


def flows_file(work: Path, rows: int) -> Path:
    """A CICIDS2017-layout file of `rows` synthetic flows, made once and cached."""
    path = work / f"flows-{rows}.csv"
    if not path.is_file():
        print(f"writing {path} ({rows:,} synthetic flows; minutes)", file=sys.stderr)
        partial = path.with_suffix(".partial")
        write_synthetic_csv(partial, rows, seed=11)
        partial.rename(path)
    return path


def doubled_file(path: Path) -> Path:
    """The same flows twice over (one header): a file twice the size, for the memory check."""
    doubled = path.with_name(path.stem + "-x2.csv")
    if not doubled.is_file():
        partial = doubled.with_suffix(".partial")
        with path.open("rb") as source, partial.open("wb") as target:
            header = source.readline()
            target.write(header)
            for _ in range(2):
                source.seek(len(header))
                while block := source.read(1 << 24):
                    target.write(block)
        partial.rename(doubled)
    return doubled


def count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1


# --- end to end -----------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += children.get(pid, [])
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """The highest summed RSS of a process and its descendants, sampled."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.peak_process = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            sizes = [_rss(pid) for pid in _tree(self.pid)]
            self.peak = max(self.peak, sum(sizes))
            self.peak_process = max([self.peak_process, *sizes])
            self.stopping.wait(SAMPLE_SECONDS)


def end_to_end(path: Path, artifacts: Path, model: str, jobs: int, work: Path) -> EndToEnd:
    output, summary = work / f"out-{model}.parquet", work / f"summary-{model}.json"
    command = [
        sys.executable, "-m", "score.cli", str(path), "-o", str(output), "--artifacts",
        str(artifacts), "--model", model, "--jobs", str(jobs), "--quiet",
        "--summary-json", str(summary),
    ]  # fmt: skip
    cpu_before = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - start
    cpu_seconds = _children_cpu() - cpu_before
    sampler.stopping.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {err.strip()}")
    figures = json.loads(summary.read_text())
    output.unlink()
    return EndToEnd(
        model, jobs, int(figures["rows"]), seconds, sampler.peak, sampler.peak_process,
        {stage: float(value) for stage, value in figures["stage_seconds"].items()}, path.name,
        cpu_seconds,
    )  # fmt: skip


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- in-process compute ---------------------------------------------------------------------


def load_rows(path: Path, rows: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The first `rows` flows' 78 features, found in the header as the command line finds them."""
    with path.open("rb") as handle:
        head = b"".join(handle.readline() for _ in range(rows + 1))
    table = pa_csv.read_csv(pa.py_buffer(head))
    layout = locate(table.column_names, FEATURE_NAMES, path.name)
    return np.ascontiguousarray(
        np.column_stack([table.column(p).to_numpy().astype(np.float64) for p in layout.features])
    )


def compute(
    artifacts: Path, model: str, rows: np.ndarray[Any, Any], jobs: int
) -> tuple[float, str, float]:
    """Rows/s of the server's inference core (`server.model.Model.predict`, large batches: the
    batch graph when the artifact has one) on rows in memory at `jobs` threads, in the command
    line's chunks: the better of one model whose large batches use `jobs` threads and `jobs`
    threads sharing a one-thread model."""
    wide = load_models(artifacts, (ModelSpec(model),), jobs)[0]
    narrow = load_models(artifacts, (ModelSpec(model),), 1)[0] if jobs > 1 else wide

    def run(loaded: Model, part: np.ndarray[Any, Any]) -> None:
        for start in range(0, len(part), CHUNK_ROWS):
            predict_in_batches(loaded, part[start : start + CHUNK_ROWS], BATCH_ROWS)

    run(wide, rows[:CHUNK_ROWS])  # warm
    start, cpu = time.perf_counter(), time.process_time()
    run(wide, rows)
    wide_rate = len(rows) / (time.perf_counter() - start)
    wide_cpu = len(rows) / (time.process_time() - cpu)
    if jobs == 1:
        return wide_rate, "1 thread", wide_cpu
    threads = [threading.Thread(target=run, args=(narrow, p)) for p in np.array_split(rows, jobs)]
    start, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    split_rate = len(rows) / (time.perf_counter() - start)
    split_cpu = len(rows) / (time.process_time() - cpu)
    if split_rate > wide_rate:
        return split_rate, f"{jobs} threads on a 1-thread model", split_cpu
    return wide_rate, f"one model, {jobs} threads", wide_cpu


# --- the old way ----------------------------------------------------------------------------


def read_old_way(path: Path) -> tuple[Any, float, float]:
    """The features as the old way reads them; wall and CPU seconds."""
    import pandas as pd

    start, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path, skipinitialspace=True)
    frame.columns = [name.strip() for name in frame.columns]
    features = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    # The training's cleaning (which the ONNX graph also does): +/-inf and NaN become 0.
    features = np.where(np.isfinite(features), features, 0.0)
    return features, time.perf_counter() - start, time.process_time() - cpu


def old_way(pickles: PickleSet, model_name: str, features: Any, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of the pickles' own batch predict and predict_proba, n_jobs = `jobs`."""
    model = copy.deepcopy(pickles.models[model_name])
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=jobs)
    start, cpu = time.perf_counter(), time.process_time()
    scaled = pickles.scaler.transform(features)
    labels = pickles.label_encoder.inverse_transform(model.predict(scaled))
    model.predict_proba(scaled)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    assert len(labels) == len(features)
    return seconds, cpu_seconds


# --- the run --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.score", description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the file")
    parser.add_argument("--jobs", default="1,2", help="job counts, comma-separated")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds")
    parser.add_argument("--data", type=Path, help="CICIDS2017 folder to train on")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, help="scratch folder (default <out>/tmp/score)")
    parser.add_argument("--no-memory", action="store_true", help="skip the 2x file RSS check")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work or args.out / "tmp" / "score"
    work.mkdir(parents=True, exist_ok=True)
    jobs_list = [int(j) for j in args.jobs.split(",")]
    models = [m for m in args.models.split(",") if m]
    started = datetime.now()
    data = find_data(args.data)
    prepared = prepare(work, data, 50_000, reuse=True)
    pickles = load_pickle_set(prepared.pickles_dir)
    path = flows_file(work, args.rows)
    rows = load_rows(path, COMPUTE_ROWS)
    measured = {(m, j): Measured(m, j) for j in jobs_list for m in models}
    for round_number in range(args.rounds):
        features, read_seconds, read_cpu = read_old_way(path)
        for jobs in jobs_list:
            for model in models:
                entry = measured[(model, jobs)]
                print(f"round {round_number + 1}: {model}, {jobs} job(s)", file=sys.stderr)
                run = end_to_end(path, prepared.artifacts_dir, model, jobs, work)
                entry.end_to_end.append(run)
                rate, how, cpu_rate = compute(prepared.artifacts_dir, model, rows, jobs)
                entry.compute_rows_per_s.append(rate)
                entry.compute_how.append(how)
                entry.compute_rows_per_cpu_s.append(cpu_rate)
                predict_seconds, predict_cpu = old_way(pickles, model, features, jobs)
                entry.old_rows_per_cpu_s.append(len(features) / (read_cpu + predict_cpu))
                entry.old_read_seconds.append(read_seconds)
                entry.old_predict_seconds.append(predict_seconds)
                entry.old_rows_per_s.append(len(features) / (read_seconds + predict_seconds))
        del features
    memory: list[EndToEnd] = []
    if not args.no_memory:
        jobs = max(jobs_list)
        for file in (path, doubled_file(path)):
            print(f"memory: {file.name}, {jobs} job(s)", file=sys.stderr)
            memory.append(end_to_end(file, prepared.artifacts_dir, models[0], jobs, work))
    machine = describe_machine()
    document = {
        "started": started.isoformat(timespec="seconds"),
        "git": git_revision(),
        "machine": asdict(machine),
        "load_average": os.getloadavg(),
        "versions": {**library_versions(), "pyarrow": pa.__version__},
        "models": f"trained on {prepared.data} (`python -m models.train`, `python -m convert`)",
        "file": {"name": path.name, "rows": args.rows, "bytes": path.stat().st_size},
        "compute_rows": COMPUTE_ROWS,
        "measured": [
            {**asdict(entry), "end_to_end": [asdict(run) for run in entry.end_to_end]}
            for entry in measured.values()
        ],
        "memory": [asdict(run) for run in memory],
    }
    stem = f"{started:%Y-%m-%d}-{machine.slug}-score"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(render(document))
    print(f"wrote {args.out / stem}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
