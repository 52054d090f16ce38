"""What the figures were measured on: the machine and the library versions."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]

LIBRARIES = (
    "numpy",
    "scikit-learn",
    "xgboost-cpu",
    "onnx",
    "onnxruntime",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "orjson",
    "fastapi",
    "pydantic",
)


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    usable_cores: int
    memory_bytes: int
    kernel: str
    python: str

    @property
    def slug(self) -> str:
        """A file-name friendly name: `amd-epyc-2c`."""
        words = re.sub(r"\(.*?\)|processor|cpu|@.*$", "", self.cpu, flags=re.IGNORECASE)
        name = "-".join(re.findall(r"[a-z0-9]+", words.lower())[:3]) or "machine"
        return f"{name}-{self.cores}c"


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_bytes() -> int:
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def describe_machine() -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        usable_cores=len(os.sched_getaffinity(0)),
        memory_bytes=_memory_bytes(),
        kernel=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
    )


def library_versions() -> dict[str, str]:
    """Installed versions of every library on either side of the comparison, and wrk's."""
    versions = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    wrk = shutil.which("wrk")
    if wrk:
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        match = re.search(r"wrk (\S+)", done.stdout + done.stderr)
        versions["wrk"] = match.group(1) if match else "unknown"
    else:
        versions["wrk"] = "not installed"
    return versions


def git_revision(checkout: Path = CHECKOUT) -> str:
    """The commit the code ran from, `+changes` when the checkout differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    # Untracked files count: a new module changes what ran as much as an edited one.
    return commit + ("+changes" if git("status", "--porcelain") else "")
