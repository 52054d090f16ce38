"""`ids-inference flows`: capture files or a network interface to a CSV of flow records.

    ids-inference flows PCAP... -o OUT.csv [--names cicids2017|cicflowmeter]
    tcpdump -w - ... | ids-inference flows - -o OUT.csv
    ids-inference flows --interface IF [--filter BPF] -o OUT.csv
    ids-inference flows ... [--flow-timeout S] [--activity-timeout S]
    ids-inference flows rec.pcap -o rec.csv --label ATTACK --attacker 127.0.0.1 \
        --victim 127.0.0.2:1-1024 [--from TIME] [--until TIME] [--label ...]

Files: a progress line on stderr, the CSV written under a temporary name and renamed when
complete. Live: flows appended and flushed as they end, so `tail -f` follows them. SIGINT or
SIGTERM ends the input: open flows are written, and the command exits 0. `-o -` writes to stdout.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from flows.columns import CICFLOWMETER, CICIDS2017
from flows.csv_out import CsvWriter
from flows.errors import FlowsError
from flows.inputs import add_arguments, check_arguments, open_stream
from flows.labelling import LabelRuleError, Rule, label_flows
from flows.paths import output_problem
from flows.progress import Progress
from flows.records import FlowBatch
from flows.stream import FlowStream


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ids-inference flows",
        description="Turn packets into flow records with CICIDS2017's 78 features, computed as "
        "CICFlowMeter (the tool that made CICIDS2017) computes them.",
    )
    add_arguments(parser)
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT.csv", help="the CSV to write; - for stdout"
    )
    parser.add_argument(
        "--names",
        choices=(CICIDS2017, CICFLOWMETER),
        default=CICIDS2017,
        help="column names: CICIDS2017's TrafficLabelling layout (default), or the reference "
        "CICFlowMeter's 84 columns exactly as its `cfm` writes them",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    rules = parser.add_argument_group(
        "labelling a recording",
        "Add a Label column: flows between an --attacker and a --victim (either direction), "
        "starting within --from/--until, get the rule's label; every other flow is BENIGN. "
        "Each --label starts a rule; the options after it belong to it. The CSV trains with "
        "`ids-inference train --data` beside CICIDS2017 files.",
    )
    rules.add_argument(
        "--label",
        action=_NewRule,
        metavar="LABEL",
        help="a CICIDS2017 class (PortScan, DDoS, ...) or ATTACK",
    )
    for option, metavar, help_text in (
        ("--attacker", "ADDR[:PORTS]", "an attacking address or network (repeatable)"),
        ("--victim", "ADDR[:PORTS]", "an attacked address or network, ports as 80 or 1-1024,8080"),
        ("--from", "TIME", "flows starting at or after TIME (Unix seconds or ISO 8601)"),
        ("--until", "TIME", "flows starting at or before TIME"),
    ):
        rules.add_argument(option, action=_RuleOption, metavar=metavar, help=help_text)
    return parser


class _NewRule(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        rules = getattr(namespace, "rules", None) or []
        rules.append({"label": values, "attacker": [], "victim": [], "from": None, "until": None})
        namespace.rules = rules


class _RuleOption(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        rules = getattr(namespace, "rules", None)
        if not rules:
            parser.error(f"{option_string} belongs to a rule: give --label LABEL before it")
        key = (option_string or "").removeprefix("--")
        if isinstance(rules[-1][key], list):
            rules[-1][key].append(values)
        elif rules[-1][key] is not None:
            parser.error(f"{option_string} is given twice for --label {rules[-1]['label']}")
        else:
            rules[-1][key] = values


def _rules(parser: argparse.ArgumentParser, given: list[dict[str, object]] | None) -> list[Rule]:
    rules = []
    for rule in given or []:
        try:
            rules.append(
                Rule.parse(
                    str(rule["label"]),
                    rule["attacker"],  # type: ignore[arg-type]
                    rule["victim"],  # type: ignore[arg-type]
                    rule["from"],  # type: ignore[arg-type]
                    rule["until"],  # type: ignore[arg-type]
                )
            )
        except LabelRuleError as error:
            parser.error(str(error))
    return rules


def summary(stream: FlowStream, written: int, seconds: float) -> str:
    """What was read, skipped and written."""
    counts = stream.counts
    ended = counts.ended
    lines = [
        f"flows: {stream.packets_read(seconds)}",
        f"flows: {written:,} flows written (ended by FIN {ended['FIN']:,}, RST {ended['RST']:,}, "
        f"timeout {ended['timeout'] + ended['clock']:,}, end of input {ended['end']:,}); "
        f"{counts.single_packet_flows:,} single-packet flows not written, as the reference",
        f"flows: {counts.without_transport:,} IP packets without a TCP/UDP header metered as "
        f"protocol 0, {counts.repeated_fins:,} repeated forward FINs ignored, as the reference",
    ]
    if counts.late_packets:
        lines.append(
            f"flows: {counts.late_packets:,} packets came stamped before a time the clock had "
            "already ended flows at: a flow of theirs may have ended without them, unlike the "
            "reference's"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    rules = _rules(parser, getattr(args, "rules", None))
    live = args.interface is not None
    problem = output_problem(args.output)
    if problem is not None:
        print(f"ids-inference flows: {problem}", file=sys.stderr)
        return 1
    try:
        stream, capture = open_stream(args)
    except FlowsError as error:
        print(f"ids-inference flows: {error}", file=sys.stderr)
        return 1
    if live:
        print(
            f"flows: capturing on {args.interface}"
            + (f" ({args.filter})" if args.filter else "")
            + "; SIGINT or SIGTERM stops and writes the open flows",
            file=sys.stderr,
            flush=True,
        )

    def stop(signum: int, frame: FrameType | None) -> None:
        stream.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    began = time.monotonic()
    try:
        written = _write(stream, args.output, args.names, live, not args.quiet, rules)
    except FlowsError as error:
        print(f"ids-inference flows: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of stdout (`head`, say) has had enough: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if capture is not None:
            capture.close()  # counts the kernel's drops, for the summary
    print(summary(stream, written, time.monotonic() - began), file=sys.stderr)
    for damage in stream.errors:
        print(f"ids-inference flows: {damage}", file=sys.stderr)
    return 1 if stream.errors else 0


def _write(
    stream: FlowStream, output: str, naming: str, live: bool, progress: bool, rules: list[Rule]
) -> int:
    if output == "-":
        return _rows(stream, sys.stdout, naming, progress and not live, rules, flush=live)
    path = Path(output)
    if live:
        with _opened(path, path) as file:
            return _rows(stream, file, naming, False, rules, flush=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with _opened(partial, path) as file:
            written = _rows(stream, file, naming, progress, rules, flush=False)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return written


def _opened(path: Path, output: Path) -> TextIO:
    # `output_problem` has checked the folder; this catches what it cannot foresee (a read-only
    # file under --interface, a folder changed since).
    try:
        return path.open("w", newline="")
    except OSError as error:
        raise FlowsError(f"cannot write {str(output)!r} ({error.strerror or error})") from None


def _rows(
    stream: FlowStream,
    file: TextIO,
    naming: str,
    progress: bool,
    rules: list[Rule],
    *,
    flush: bool,
) -> int:
    writer = CsvWriter(file, naming, labelled=bool(rules))
    shown = Progress("flows", stream, progress)
    batch: FlowBatch
    for batch in stream:
        writer.write(batch, label_flows(batch, rules) if rules else None)
        if flush:
            file.flush()
        shown.update(flows=writer.rows)
    shown.done()
    return writer.rows
