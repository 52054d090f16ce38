"""A live capture in its own process, as the CLI runs one: stopped by SIGTERM, it saves what it
saw. Used by test_live.py inside a network namespace.

    python -m tests.flows.live_child INTERFACE FILTER OUT.npz [abandon]

`abandon`: read through `flows.live.capture` and stop as the flow meter's stream does, by raising
an exception out of the signal handler into the blocked read.
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import fields
from pathlib import Path
from types import FrameType

import numpy as np

from flows.errors import LiveCaptureError
from flows.live import LiveCapture, capture
from flows.packets import PacketBatch
from tests.flows.read import concat


class Abandoned(BaseException):
    pass


def abandon(interface: str, bpf_filter: str, out: Path) -> int:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Abandoned

    batches: list[PacketBatch] = []
    live = capture(interface, bpf_filter or None)
    batches.append(next(live))  # opened
    signal.signal(signal.SIGTERM, stop)
    try:  # the signal may come as soon as the test reads "ready", before print returns
        print("ready", flush=True)
        for batch in live:
            batches.append(batch)
    except Abandoned:
        live.close()
    _save(out, batches, {"batches": len(batches)})
    return 0


def _save(out: Path, batches: list[PacketBatch], summary: dict[str, int]) -> None:
    whole = concat(batches)
    np.savez(out, **{f.name: getattr(whole, f.name) for f in fields(PacketBatch)})
    out.with_suffix(".json").write_text(json.dumps(summary))


def main(interface: str, bpf_filter: str, out: Path) -> int:
    try:
        capture = LiveCapture(interface, bpf_filter or None)
    except LiveCaptureError as error:
        print(error, file=sys.stderr)
        return 3

    def stop(signum: int, frame: FrameType | None) -> None:
        capture.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    batches: list[PacketBatch] = []
    empty = 0
    with capture:
        for batch in capture:
            batches.append(batch)
            empty += len(batch) == 0
        stats = capture.stats()
    _save(out, batches, {"batches": len(batches), "empty": empty, "dropped": stats.dropped})
    return 0


if __name__ == "__main__":
    run = abandon if sys.argv[4:] == ["abandon"] else main
    raise SystemExit(run(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
