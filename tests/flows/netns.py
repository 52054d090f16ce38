"""A private network namespace for a test: loopback up, removed whatever happens."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import shared


def require_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces and packet capture need root (CI runs as root)")
    for tool in ("ip", "tcpdump"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install iproute2 tcpdump)")


@contextmanager
def namespace(name: str) -> Iterator[list[str]]:
    """Yields the command prefix that runs a program inside the namespace `name`."""
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        prefix = ["ip", "netns", "exec", name]
        subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], check=True)
        yield prefix
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            with suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", name], check=False)


def traffic_namespace(tool: subprocess.Popen[str]) -> str:
    """The namespace of a running `../shared/tools/traffic` (`ids-traffic-<its pid>`), once its
    loopback is up: a test's capture can join it before the tool starts its scenario."""
    name = f"ids-traffic-{tool.pid}"
    deadline = time.monotonic() + 120  # the first run may apt-get install the tools
    while time.monotonic() < deadline:
        up = subprocess.run(
            ["ip", "netns", "exec", name, "ip", "-o", "link", "show", "lo", "up"],
            capture_output=True,
            text=True,
            check=False,
        )
        if "LOOPBACK" in up.stdout:
            return name
        assert tool.poll() is None, f"traffic ended early: {tool.communicate()[0]}"
        time.sleep(0.01)
    raise AssertionError("the traffic tool's namespace never came up")


@dataclass(frozen=True)
class BesideTraffic:
    status: int  # the command's exit status
    stderr: str  # everything it wrote on stderr


def run_beside_traffic(
    scenario: str,
    pcap: Path,
    command: list[str],
    ready: str,
    while_running: Callable[[], None] = lambda: None,
    cwd: Path | None = None,
) -> BesideTraffic:
    """Run `command` inside the namespace of `../shared/tools/traffic SCENARIO PCAP` (the tool
    records the scenario into `pcap` with its own tcpdump): the command starts once the
    namespace is up, the tool held (SIGSTOP) until the command's first stderr line holds
    `ready`; `while_running` is called every 50 ms until the tool ends; the tool's exit sends
    SIGTERM to what runs in its namespace, the command included (ours only if it has not ended
    a minute later: a second SIGTERM at once could land after the command has restored the
    default handler on its way out). Skips without root, tcpdump or the tool."""
    require_namespaces()
    traffic = shared.traffic()
    if not traffic.is_file():
        pytest.skip(f"the traffic recorder is not at {traffic}: set TRAFFIC to ../shared's")
    tool = subprocess.Popen(
        [str(traffic), scenario, str(pcap)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process: subprocess.Popen[str] | None = None
    try:
        namespace = traffic_namespace(tool)
        tool.send_signal(signal.SIGSTOP)
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *command],
            cwd=cwd,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        first = process.stderr.readline()
        assert ready in first, first + process.stderr.read()
        tool.send_signal(signal.SIGCONT)
        while tool.poll() is None:
            while_running()
            time.sleep(0.05)
        output, _ = tool.communicate()
        assert tool.returncode == 0, output
        try:
            status = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=120)
        return BesideTraffic(status, first + process.stderr.read())
    finally:
        for running in (tool, process):
            if running is not None and running.poll() is None:
                os.kill(running.pid, signal.SIGCONT)
                running.kill()
                running.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
