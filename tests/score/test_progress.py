"""Progress: a bar on a terminal, plain periodic lines otherwise; the closing summary."""

from __future__ import annotations

import io

import pytest

from score.progress import Progress, Summary


@pytest.mark.parametrize(
    ("tty", "expected"),
    [
        pytest.param(True, "\r[############............]  50.0%  1,000 rows", id="terminal: a bar"),
        pytest.param(False, "score:  50.0%  1,000 rows", id="not a terminal: plain lines"),
    ],
)
def test_progress_shows_rows_rate_and_eta(tty: bool, expected: str) -> None:
    stream = io.StringIO()
    progress = Progress(stream, total_bytes=2_000, tty=tty, _shown=-1e9)
    progress.update(1_000, 1_000)
    text = stream.getvalue()
    assert text.startswith(expected)
    assert "rows/s" in text
    assert "ETA 0:00:" in text


def test_quiet_progress_writes_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(stream, total_bytes=10, tty=True, enabled=False, _shown=-1e9)
    progress.update(5, 5)
    progress.close()
    assert stream.getvalue() == ""


def test_the_summary_counts_labels_per_model_and_rejections_by_reason() -> None:
    summary = Summary("out.parquet", inputs=2, rows=10, blank=1, seconds=2.0)
    summary.add_counts("xgboost", {"BENIGN": 6, "ATTACK": 1})
    summary.add_counts("xgboost", {"ATTACK": 3})
    summary.rejected = {"wrong column count": 2}
    summary.rejected_file = "out.parquet.rejected.csv"
    assert summary.render().splitlines() == [
        "scored 10 rows from 2 file(s) in 2.0 s (5 rows/s) -> out.parquet",
        "  xgboost: BENIGN 6, ATTACK 4",
        "  1 blank line(s) skipped",
        "  2 row(s) rejected (wrong column count 2), listed in out.parquet.rejected.csv",
    ]
