"""`ids-inference score`: flow files in, one verdict per flow out.

    ids-inference score INPUT... -o OUTPUT [--artifacts DIR] [--model NAME[:VERSION]]...
                        [--jobs N] [--on-bad-row error|skip] [--chunk-rows N] [--quiet]

Exits 0 when every row was scored or skipped as asked, 1 on an error (nothing is left behind
under the output's name), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from score.errors import ScoreError
from score.models import ModelSpec
from score.progress import Progress
from score.run import BATCH_ROWS, CHUNK_ROWS, ON_BAD_ROW, WORKERS, Run, score_files
from server.settings import default_artifacts, default_model, usable_cores


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ids-inference score",
        description="Score flow files (CSV, gzip'd CSV or Parquet; CICIDS2017 columns) with the "
        "ONNX models of a model repository, in bounded memory, on every core.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="flow files")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="OUTPUT.csv or OUTPUT.parquet"
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help="the model repository (default: IDS_ARTIFACTS_PATH, else artifacts)",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME[:VERSION]",
        help="a model to score with, at its latest version or VERSION; repeat for several "
        "(columns are then prefixed NAME_ or NAME_vVERSION_). Default: IDS_DEFAULT_MODEL, else "
        "random_forest",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=usable_cores(),
        help="worker processes, one onnxruntime thread each (default: every usable core, "
        f"{usable_cores()} here)",
    )
    parser.add_argument(
        "--workers",
        choices=WORKERS,
        default="threads",
        help="run the jobs as threads of this process, sharing its sessions (default), or as "
        "processes of their own",
    )
    parser.add_argument(
        "--threads", type=_positive, default=1, help="onnxruntime threads per job (default 1)"
    )
    parser.add_argument(
        "--on-bad-row",
        choices=ON_BAD_ROW,
        default="error",
        help="a row with the wrong number of fields or text in a numeric column: stop, naming "
        "the file and line (error, the default), or skip it and list it in "
        "OUTPUT.rejected.csv (skip)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=_positive,
        default=CHUNK_ROWS,
        help=f"rows read, scored and written at a time (default {CHUNK_ROWS})",
    )
    parser.add_argument(
        "--batch-rows",
        type=int,
        default=BATCH_ROWS,
        help=f"rows per onnxruntime run within a chunk (default {BATCH_ROWS}; 0: the whole chunk)",
    )
    parser.add_argument(
        "--summary-json",
        type=Path,
        metavar="FILE",
        help="also write the summary as JSON (rows, predictions, rejected rows, seconds per stage)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress and no summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run = Run(
        inputs=args.inputs,
        output=args.output,
        artifacts=args.artifacts or default_artifacts(),
        jobs=args.jobs,
        threads=args.threads,
        chunk_rows=args.chunk_rows,
        batch_rows=max(args.batch_rows, 0),
        on_bad_row=args.on_bad_row,
        workers=args.workers,
        specs=(),
    )
    progress = Progress(sys.stderr, total_bytes=0, tty=sys.stderr.isatty(), enabled=not args.quiet)
    try:
        specs = tuple(ModelSpec.parse(text) for text in (args.model or [default_model()]))
        run = dataclasses.replace(run, specs=specs)
        progress.total_bytes = sum(_size(path) for path in run.inputs)
        summary = score_files(run, progress)
    except ScoreError as error:
        print(f"ids-inference score: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ids-inference score: interrupted; nothing was written", file=sys.stderr)
        return 130
    if not args.quiet:
        print(summary.render())
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary.as_json(), indent=2) + "\n")
    return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the run names the unreadable file


if __name__ == "__main__":
    raise SystemExit(main())
