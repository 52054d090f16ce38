from __future__ import annotations

import subprocess
import sys

import pytest

from ids_inference.cli import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


@pytest.mark.parametrize(
    "argv", [pytest.param([], id="no command"), pytest.param(["fly"], id="unknown command")]
)
def test_bad_command_exits_2(argv: list[str]) -> None:
    assert main(argv) == 2


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ids_inference", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "usage: ids-inference" in done.stdout
