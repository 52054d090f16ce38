"""A live capture in its own process, as the CLI runs one: stopped by SIGTERM, it saves what it
saw. Used by test_live.py inside a network namespace.

    python -m tests.flows.live_child INTERFACE FILTER OUT.npz
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
from flows.live import LiveCapture
from flows.packets import PacketBatch
from tests.flows.read import concat


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
    whole = concat(batches)
    np.savez(out, **{f.name: getattr(whole, f.name) for f in fields(PacketBatch)})
    summary = {"batches": len(batches), "empty": empty, "dropped": stats.dropped}
    out.with_suffix(".json").write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
