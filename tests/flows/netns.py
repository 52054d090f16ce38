"""A private network namespace for a test: loopback up, removed whatever happens."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest


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
