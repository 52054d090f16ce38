"""Write synthetic flows as a CICIDS2017 CSV file (MachineLearningCVE layout), block by block.

    python -m models.make_csv --rows 2830000 --out /tmp/cicids2017-synthetic.csv

The full CICIDS2017 release is about 2.8 million flows in 1.1 GB of CSV: this makes a file of
that size for memory and throughput checks without the real data. Memory stays flat whatever the
row count: each block is generated, written and dropped before the next.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from models.csv_layout import write_csv
from models.synthetic import generate_flows

log = logging.getLogger(__name__)

BLOCK_ROWS = 100_000
# About the precision of the original files' fractions (e.g. 48.66666667).
DATASET_FLOAT_FORMAT = "%.10g"


def block_seed(seed: int, block: int) -> int:
    """An independent seed for each block, fixed by the file's seed."""
    return int(np.random.SeedSequence([seed, block]).generate_state(1)[0])


def write_synthetic_csv(path: Path, rows: int, *, seed: int = 42, crlf: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        for block, start in enumerate(range(0, rows, BLOCK_ROWS)):
            flows = generate_flows(min(BLOCK_ROWS, rows - start), seed=block_seed(seed, block))
            write_csv(
                flows,
                handle,
                header=block == 0,
                float_format=DATASET_FLOAT_FORMAT,
                line_ending="\r\n" if crlf else "\n",
            )
            log.info("%d/%d rows written", start + len(flows), rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.make_csv", description=__doc__)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, metavar="FILE")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--crlf", action="store_true", help="CRLF line endings, as some files")
    args = parser.parse_args(argv)
    if args.rows <= 0:
        parser.error(f"--rows must be positive, got {args.rows}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    write_synthetic_csv(args.out, args.rows, seed=args.seed, crlf=args.crlf)
    log.info("wrote %s (%.2f GB)", args.out, args.out.stat().st_size / 1e9)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
