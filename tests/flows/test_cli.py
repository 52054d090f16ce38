"""`ids-inference flows`: files and pipes to CSV, the summary, errors, and stopping by signal."""

from __future__ import annotations

import os
import signal
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import cli, live
from flows.cli import main
from flows.columns import CICFLOWMETER, CICIDS2017
from flows.csv_out import header
from flows.packets import FIN, SYN, PacketBatch, Skipped
from tests.flows.build import Packet, batch, capture

CONVERSATION = (
    Packet(0, flags=SYN),
    Packet(0, flags=SYN).reversed(0.001),
    Packet(0.002, payload=10),
    Packet(0, flags=FIN).reversed(0.003),  # ends the flow
    Packet(1, sport=1, payload=5),
    Packet(0, sport=1).reversed(1.5),  # open at the end of the file
)


def _capture(tmp_path: Path, name: str = "two.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(capture(CONVERSATION))
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_a_file_becomes_a_csv_with_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "flows.csv"
    assert main([str(_capture(tmp_path)), "-o", str(out)]) == 0
    lines = _lines(out)
    assert lines[0] == ",".join(header(CICIDS2017))
    assert len(lines) == 3
    assert sorted(tmp_path.iterdir()) == sorted([out, tmp_path / "two.pcap"])  # no partial file
    err = capsys.readouterr().err
    assert "6 IP packets metered, 0 skipped" in err
    assert "2 flows written (ended by FIN 1, RST 0, timeout 0, end of input 1)" in err


def test_the_flow_timeout_is_settable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 0.4 s: the second conversation's packets (at 1 and 1.5 s) fall in two flows of one packet.
    out = tmp_path / "flows.csv"
    assert main([str(_capture(tmp_path)), "-o", str(out), "--flow-timeout", "0.4"]) == 0
    assert len(_lines(out)) == 2
    assert "1 flows written (ended by FIN 1, RST 0, timeout 0, end of input 0); 2 single" in (
        capsys.readouterr().err
    )


def test_the_activity_timeout_is_settable(tmp_path: Path) -> None:
    # 0.4 s: the second flow's 0.5 s pause is idle time, not activity.
    default, shorter = tmp_path / "default.csv", tmp_path / "shorter.csv"
    pcap = str(_capture(tmp_path))
    assert main([pcap, "-o", str(default), "-q"]) == 0
    assert main([pcap, "-o", str(shorter), "-q", "--activity-timeout", "0.4"]) == 0
    header_line, *rows = _lines(shorter)
    names = [name.strip() for name in header_line.split(",")]
    idle = dict(zip(names, rows[1].split(","), strict=True))["Idle Mean"]
    assert float(idle) == 500_000  # microseconds
    assert _lines(default)[1] == rows[0]  # the first flow has no pause


def test_cicflowmeter_names_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(_capture(tmp_path)), "-o", "-", "--names", "cicflowmeter"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(header(CICFLOWMETER))
    assert all(line.endswith(",NeedManualLabel") for line in lines[1:])
    assert len(lines) == 3


def test_several_files_are_metered_each_on_its_own(tmp_path: Path) -> None:
    out = tmp_path / "flows.csv"
    first, second = _capture(tmp_path, "a.pcap"), _capture(tmp_path, "b.pcap")
    assert main([str(first), str(second), "-o", str(out), "-q"]) == 0
    assert len(_lines(out)) == 1 + 2 * 2


def test_a_damaged_file_keeps_the_flows_before_the_damage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A seventh record that claims 2 GB: the file is corrupt from there on.
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(capture(CONVERSATION) + struct.pack("<IIII", 1, 0, 2**31, 2**31))
    out = tmp_path / "flows.csv"
    assert main([str(damaged), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{damaged}, packet 7: " in err
    assert len(_lines(out)) == 3  # the six packets before it: both flows


def test_a_file_that_is_no_capture_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.pcap"
    text.write_text("hello, not a capture\n")
    assert main([str(text), "-o", str(tmp_path / "out.csv")]) == 1
    assert "not a pcap or pcapng file" in capsys.readouterr().err


def test_a_capture_cut_short_reports_its_skipped_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture(CONVERSATION)[:-3])  # the sixth record loses its last bytes
    assert main([str(cut), "-o", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    assert "6 frames read in " in err
    assert (
        " s: 5 IP packets metered, 1 skipped (the file ends inside a packet record (the capture "
        "was cut short) 1)" in err
    )


@pytest.mark.parametrize(
    ("output", "message"),
    [
        pytest.param(
            "nowhere/x.csv", "cannot write '{tmp}/nowhere/x.csv': no folder", id="no folder"
        ),
        pytest.param("", "cannot write '{tmp}': it is a folder", id="a folder"),
        pytest.param(
            "a-file/x.csv",
            "cannot write '{tmp}/a-file/x.csv': '{tmp}/a-file' is not a folder",
            id="a file as the folder",
        ),
    ],
)
@pytest.mark.parametrize("live_input", [False, True], ids=["files", "interface"])
def test_an_unwritable_output_stops_before_any_input_opens(
    output: str,
    message: str,
    live_input: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("the capture opened before the output was checked")

    monkeypatch.setattr(live, "LiveCapture", never)
    (tmp_path / "a-file").write_text("")
    before = sorted(tmp_path.iterdir())
    source = ["--interface", "eth9"] if live_input else [str(tmp_path / "absent.pcap")]
    assert main([*source, "-o", str(tmp_path / output)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ids-inference flows: {message.format(tmp=tmp_path)}")
    assert len(err.splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("missing", id="a missing file"),
        pytest.param("folder", id="a folder"),
        pytest.param("missing second", id="a missing file after a good one"),
    ],
)
def test_an_input_that_cannot_be_read_stops_before_the_output_exists(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / ("folder" if case == "folder" else "nope.pcap")
    if case == "folder":
        bad.mkdir()
    inputs = [str(_capture(tmp_path)), str(bad)] if case == "missing second" else [str(bad)]
    out = tmp_path / "out.csv"
    assert main([*inputs, "-o", str(out)]) == 1
    reason = "it is a folder, not a file" if case == "folder" else "no such file"
    assert capsys.readouterr().err == f"ids-inference flows: {bad}: cannot open: {reason}\n"
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_no_input_asks_for_files_or_an_interface(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["-o", "x.csv"])
    assert "error: give capture files or --interface\n" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["-o", "x.csv"], id="no input"),
        pytest.param(["a.pcap", "--interface", "lo", "-o", "x.csv"], id="files and interface"),
        pytest.param(["a.pcap", "--filter", "tcp", "-o", "x.csv"], id="filter without interface"),
        pytest.param(["a.pcap"], id="no output"),
        pytest.param(["a.pcap", "-o", "x.csv", "--flow-timeout", "0"], id="a zero flow timeout"),
        pytest.param(
            ["a.pcap", "-o", "x.csv", "--activity-timeout", "soon"],
            id="an activity timeout no number",
        ),
    ],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_a_capture_and_writes_its_open_flows(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sig: signal.Signals,
) -> None:
    closed = []

    class CaptureThenWait:
        """A capture of one batch that then waits for packets, as a quiet interface does."""

        def __init__(self, interface: str, bpf_filter: str | None) -> None:
            assert (interface, bpf_filter) == ("eth9", "tcp")
            self.skipped = Skipped()
            self.skipped["not IP"] += 2

        def __iter__(self) -> Iterator[PacketBatch]:
            yield batch(CONVERSATION)
            os.kill(os.getpid(), sig)  # as a user's Ctrl-C or a service manager's stop would
            time.sleep(60)  # a capture waiting for packets: the signal abandons the wait
            raise AssertionError("the signal did not end the capture")

        def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr(live, "LiveCapture", CaptureThenWait)
    out = tmp_path / "live.csv"
    assert cli.main(["--interface", "eth9", "--filter", "tcp", "-o", str(out)]) == 0
    lines = _lines(out)
    # The FIN-ended flow as it ended; the other when the stop ended the capture, or before: live,
    # the wall clock (years after these packets) expires it at once.
    assert len(lines) == 3
    err = capsys.readouterr().err
    assert "2 flows written (ended by FIN 1, RST 0, timeout 1, end of input 0)" in err
    assert "6 IP packets metered, 2 skipped (not IP 2)" in err
    assert signal.getsignal(sig) is not None  # the command's handlers are gone again
    assert closed == [True]
