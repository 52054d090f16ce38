"""`python -m convert` / `ids-inference convert`: a pickle set -> a parity-gated model repository.

Exit status: 0 when every model passed the gate and was written, 1 when a model failed the gate
(it gets no artifact; the others still do), 2 for unusable input (nothing is written).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from convert.check_data import SYNTHETIC_ROWS, CheckData, read_check_data, synthetic_check_data
from convert.conversion import Converted, convert_model, publish
from convert.errors import ConvertError
from convert.pickle_set import load_pickle_set, read_model
from convert.repository import BATCH_FILE, check_free, next_version
from convert.tree_model import TreeModel
from models.pickle_set import MODEL_FILES, PickleSet, PickleSetError

PROG = "ids-inference convert"
COLUMNS = (
    ("model", 14),
    ("type", 23),
    ("rows", 8),
    ("boundary", 9),
    ("probes", 7),
    ("mismatches", 11),
    ("ties", 5),
    ("max diff", 9),
    ("tolerance", 10),
    ("seconds", 8),
)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Convert the pickle set into one parity-checked ONNX graph per model, "
        "written as a model repository (also valid for Triton Inference Server). Unpickling "
        "runs code: convert only pickle sets you trust.",
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=Path(os.environ.get("MODEL_PATH") or "models"),
        metavar="DIR",
        help="the pickle set's folder (default: $MODEL_PATH, else models/)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("artifacts"), metavar="DIR", help="default: artifacts/"
    )
    parser.add_argument(
        "--check-data",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="CICIDS2017 CSV files or folders for the parity gate (default: synthetic flows)",
    )
    parser.add_argument(
        "--synthetic-rows",
        type=_positive,
        default=SYNTHETIC_ROWS,
        metavar="N",
        help=f"synthetic flows checked when no --check-data is given (default {SYNTHETIC_ROWS})",
    )
    parser.add_argument(
        "--version",
        type=_positive,
        metavar="N",
        help="version folder to write (default: the next version free for every model)",
    )
    return parser


def _row(values: tuple[str, ...]) -> str:
    return " ".join(
        v.rjust(w) if i > 1 else v.ljust(w)
        for i, (v, (_, w)) in enumerate(zip(values, COLUMNS, strict=True))
    )


def _figures(done: Converted) -> tuple[str, ...]:
    r = done.report
    return (
        done.name,
        done.model.type_name,
        str(r.rows),
        str(r.boundary_points),
        str(r.non_finite_probes),
        str(r.label_mismatches),
        str(r.exact_ties),
        f"{r.max_probability_difference:.2e}",
        f"{r.tolerance:.0e}",
        f"{done.seconds:.1f}",
    )


def _prepare(args: argparse.Namespace) -> tuple[PickleSet, dict[str, TreeModel], int, CheckData]:
    pickle_set = load_pickle_set(args.models)
    models = {name: read_model(pickle_set, name) for name in MODEL_FILES}
    version = args.version or next_version(args.out, models)
    check_free(args.out, models, version)
    names = pickle_set.feature_names
    check = (
        read_check_data(args.check_data, names)
        if args.check_data
        else synthetic_check_data(names, args.synthetic_rows)
    )
    return pickle_set, models, version, check


def main(argv: list[str] | None = None) -> int:
    """Convert every model of the pickle set; see the module docstring for the exit status."""
    args = _parser().parse_args(argv)
    try:
        pickle_set, models, version, check = _prepare(args)
    except (ConvertError, PickleSetError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    shown = ", ".join(check.names[:2]) + (
        f" and {len(check.names) - 2} more" if len(check.names) > 2 else ""
    )
    print(f"parity check data: {shown} ({len(check.features)} flows)")
    print(_row(tuple(title for title, _ in COLUMNS)) + "  result")
    failed = 0
    for name, model in models.items():
        try:
            done = convert_model(pickle_set, name, model, check)
        except ConvertError as error:
            failed += 1
            print(f"{name:<14} FAILED: {error}")
            continue
        if not done.report.passed:
            failed += 1
            which = "" if not done.single_report.passed else f" ({BATCH_FILE})"
            print(_row(_figures(done)) + f"  FAILED{which}: no artifact written")
            for line in done.report.failures:
                print(f"    {line}", file=sys.stderr)
            continue
        try:
            where = publish(args.out, pickle_set, done, version)
        except (OSError, ConvertError) as error:
            failed += 1
            print(_row(_figures(done)) + f"  passed, but not written: {error}")
            continue
        print(_row(_figures(done)) + f"  ok: {where}")
    return 1 if failed else 0
