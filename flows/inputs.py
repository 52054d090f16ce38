"""The packet input of the commands that meter packets (`ids-inference flows`, `detect`): capture
files or a live interface, the flow meter's timeouts, and the `FlowStream` over them."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from flows.errors import CaptureError
from flows.meter import ACTIVITY_TIMEOUT_US, FLOW_TIMEOUT_US
from flows.paths import input_problem
from flows.stream import FlowStream

CHANGED = "another value makes flows and features unlike CICIDS2017's"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e9:  # nan fails too
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PCAP..., --interface, --filter, --flow-timeout, --activity-timeout."""
    parser.add_argument(
        "pcaps",
        nargs="*",
        metavar="PCAP",
        help="pcap or pcapng files; - reads standard input (a pipe)",
    )
    parser.add_argument("--interface", "-i", metavar="IF", help="capture live from IF instead")
    parser.add_argument("--filter", metavar="BPF", help="capture filter (with --interface)")
    parser.add_argument(
        "--flow-timeout",
        type=_seconds,
        default=FLOW_TIMEOUT_US / 1e6,
        metavar="S",
        help="a flow ends this many seconds after its first packet (default: 120, as "
        f"CICFlowMeter made CICIDS2017; {CHANGED})",
    )
    parser.add_argument(
        "--activity-timeout",
        type=_seconds,
        default=ACTIVITY_TIMEOUT_US / 1e6,
        metavar="S",
        help="a pause longer than this many seconds ends a flow's active period, for the "
        f"Active and Idle features (default: 5, as CICFlowMeter's; {CHANGED})",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if bool(args.pcaps) == bool(args.interface):
        parser.error(
            "give capture files or --interface, not both"
            if args.pcaps
            else "give capture files or --interface"
        )
    if args.filter and not args.interface:
        parser.error("--filter applies to --interface only")


def open_stream(args: argparse.Namespace) -> tuple[FlowStream, Any]:
    """The flow stream over the files, or over a live capture opened now (so that a missing or
    unreadable file, a missing privilege, an unknown interface or a bad filter raise before
    anything is written), and that capture (None for files): the caller closes it, which counts
    the kernel's drops."""
    meter = {
        "flow_timeout_us": round(args.flow_timeout * 1e6),
        "activity_timeout_us": round(args.activity_timeout * 1e6),
    }
    if not args.interface:
        for path in args.pcaps:
            problem = input_problem(path)
            if problem is not None:
                raise CaptureError(path, problem)
        return FlowStream([Path(p) for p in args.pcaps], meter=meter), None
    # The capture library loads only when capturing.
    live = importlib.import_module("flows.live")
    capture = live.LiveCapture(args.interface, args.filter)
    return FlowStream(capture, live=True, meter=meter, skipped=capture.skipped), capture
