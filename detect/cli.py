"""`ids-inference detect`: packets to flows to verdicts to alerts.

    ids-inference detect PCAP... [--alerts FILE] [--model NAME] [--server URL]
    ids-inference detect --interface IF [--filter BPF] [--alerts FILE]
    ids-inference detect ... [--flow-timeout S] [--activity-timeout S] [--per-flow]

Flows come from the flow meter (`flows/`), verdicts from an ONNX artifact run in-process by
onnxruntime or from a running server (`--server`, v2 binary batches). Every flow not judged
BENIGN becomes one EVE JSON alert line; a connection's end (the bare flow the meter makes of the
packets after a FIN) takes the verdict of its connection unless `--per-flow`
(`detect.connections`) (`--alerts`, `-` for stdout); a table of flows per label
and the top talkers of each goes to stderr at the end. Files: a progress line, and the alerts
written under a temporary name renamed when the run succeeds. Live: each batch of alerts is
written and flushed as its flows end (within a second of the end, timed-out flows included);
SIGINT or SIGTERM ends the capture, the open flows are scored and their alerts written, and the
command exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from detect.alerts import AlertWriter, alerts
from detect.connections import ConnectionVerdicts
from detect.errors import DetectError
from detect.local import LocalScorer
from detect.remote import RemoteScorer
from detect.summary import Summary
from detect.verdicts import Scorer
from flows.errors import FlowsError
from flows.inputs import add_arguments, check_arguments, open_stream
from flows.paths import output_problem
from flows.progress import Progress
from flows.stream import FlowStream
from server.settings import default_artifacts, default_model


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ids-inference detect",
        description="Score the flows of capture files or a live interface with a model and write "
        "an EVE JSON alert for every flow not judged BENIGN.",
    )
    add_arguments(parser)
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        metavar="DIR",
        help="the model repository (default: IDS_ARTIFACTS_PATH, else artifacts/)",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help="the model to judge with, at its latest version (default: IDS_DEFAULT_MODEL, else "
        "random_forest: the model the server answers with when a request names none)",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="score through the ids-inference server at URL (v2 binary batches) instead of "
        "in-process; a bearer token is read from IDS_DETECT_TOKEN",
    )
    parser.add_argument(
        "--alerts", metavar="FILE", help="write EVE JSON alert lines to FILE; - for stdout"
    )
    parser.add_argument(
        "--per-flow",
        action="store_true",
        help="judge every flow by the model alone; by default a connection's end (the packets "
        "after a FIN, no SYN, no payload) takes the verdict of the connection it ends",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    return parser


def _scorer(args: argparse.Namespace) -> Scorer:
    model = args.model or default_model()
    if args.server:
        return RemoteScorer(args.server, model)
    return LocalScorer(args.artifacts or default_artifacts(), model)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    if args.server and args.artifacts:
        parser.error("--artifacts and --server exclude each other (the server has its own)")
    problem = output_problem(args.alerts) if args.alerts else None
    if problem is not None:
        print(f"ids-inference detect: {problem}", file=sys.stderr)
        return 1
    try:
        scorer = _scorer(args)
    except DetectError as error:
        print(f"ids-inference detect: {error}", file=sys.stderr)
        return 1
    live = args.interface is not None
    try:
        stream, capture = open_stream(args)
    except FlowsError as error:
        scorer.close()
        print(f"ids-inference detect: {error}", file=sys.stderr)
        return 1
    if live:
        print(
            f"detect: capturing on {args.interface}"
            + (f" ({args.filter})" if args.filter else "")
            + f", judging with {scorer.name} version {scorer.version}; SIGINT or SIGTERM stops",
            file=sys.stderr,
            flush=True,
        )

    def stop(signum: int, frame: FrameType | None) -> None:
        stream.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    summary = Summary()
    began = time.monotonic()
    try:
        connections = None if args.per_flow else ConnectionVerdicts()
        written = _run(stream, scorer, connections, summary, args.alerts, live, not args.quiet)
    except (DetectError, FlowsError) as error:
        print(f"ids-inference detect: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of stdout (`head`, say) has had enough: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        scorer.close()
        if capture is not None:
            capture.close()
    seconds = time.monotonic() - began
    source = f"{args.interface} (live)" if live else ", ".join(args.pcaps)
    ended = stream.counts.ended
    print(f"detect: {stream.packets_read(seconds)}", file=sys.stderr)
    print(
        f"detect: {summary.flows:,} flows from {source} judged by {scorer.name} version "
        f"{scorer.version} ({scorer.where}) in {seconds:.1f} s; the flow meter ended "
        f"{sum(ended.values()):,} (FIN {ended['FIN']:,}, RST {ended['RST']:,}, timeout "
        f"{ended['timeout'] + ended['clock']:,}, end of input {ended['end']:,})",
        file=sys.stderr,
    )
    if connections is not None and connections.taken:
        print(
            f"detect: {connections.taken:,} connection ends took their connection's verdict "
            f"({connections.changed:,} unlike the model's own verdict on them; --per-flow keeps "
            "the model's)",
            file=sys.stderr,
        )
    print(summary.table(), file=sys.stderr)
    if stream.errors:
        for damage in stream.errors:
            print(f"ids-inference detect: {damage}", file=sys.stderr)
        if args.alerts and args.alerts != "-" and not live:
            print(f"ids-inference detect: {args.alerts} not written", file=sys.stderr)
        return 1
    if args.alerts:
        where = "stdout" if args.alerts == "-" else args.alerts
        print(f"detect: {written:,} alerts written to {where}", file=sys.stderr)
    return 0


def _run(
    stream: FlowStream,
    scorer: Scorer,
    connections: ConnectionVerdicts | None,
    summary: Summary,
    output: str | None,
    live: bool,
    progress: bool,
) -> int:
    """Score every flow of the stream and write the alerts; returns how many were written."""
    with ExitStack() as stack:
        file: BinaryIO | None = None
        partial: Path | None = None
        if output == "-":
            file = sys.stdout.buffer
        elif output is not None and live:
            file = stack.enter_context(_opened(Path(output), output))
        elif output is not None:
            target = Path(output)
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            file = stack.enter_context(_opened(partial, output))
            stack.callback(partial.unlink, missing_ok=True)
        writer = AlertWriter(file, flush=live or output == "-") if file is not None else None
        shown = Progress("detect", stream, progress and not live)
        for batch in stream:
            verdicts = scorer.score(batch.features)
            continued = None
            if connections is not None:
                verdicts, continued = connections.apply(batch, verdicts)
            summary.add(batch, verdicts)
            if writer is not None:
                writer.write(
                    alerts(
                        batch,
                        verdicts,
                        scorer.name,
                        scorer.version,
                        scorer.class_labels,
                        continued,
                    )
                )
            shown.update(flows=summary.flows, alerts=writer.written if writer else 0)
        shown.done()
        if partial is not None and not stream.errors:
            file.close()  # type: ignore[union-attr]
            os.replace(partial, output)  # type: ignore[arg-type]
        return writer.written if writer else 0


def _opened(path: Path, output: str) -> BinaryIO:
    # `output_problem` has checked the folder; this catches what it cannot foresee (a read-only
    # file under --interface, a folder changed since).
    try:
        return path.open("wb")
    except OSError as error:
        raise DetectError(f"cannot write {output!r} ({error.strerror or error})") from None
