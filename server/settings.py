"""The server's settings: one frozen dataclass, read from the environment once.

Every knob has one environment variable (prefix `IDS_`); two older names the existing service's
operators already set are honoured too (`ARTIFACTS_PATH`, `LOG_LEVEL`). `MODEL_PATH` is not: it
pointed at pickles, and this server reads only the converted repository. A bad value stops
start-up with a message naming the variable and the value, as Starlette's `Config` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    """A setting read from the environment has a value the server cannot use."""


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("not a valid integer") from None


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be between 0 and 65535")
    return value


def _log_level(text: str) -> str:
    value = text.strip().lower()
    if value not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text.strip()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server is configured with; tests construct it directly."""

    artifacts_path: Path = Path("artifacts")
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "info"
    default_model: str = "random_forest"
    max_batch_rows: int = 1000
    max_body_bytes: int = 16 * 1024 * 1024
    threads: int = 1
    spinning: bool = False
    offload_rows: int = 64

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            for name in ENVIRONMENT[field.name][0]:
                if name in env:
                    values[field.name] = _parse(name, env[name], ENVIRONMENT[field.name][1])
                    break
        return cls(**values)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values replaced (command-line flags win over the environment)."""
        return replace(self, **changes)


def _parse(name: str, raw: str, parser: Callable[[str], Any]) -> Any:
    try:
        return parser(raw)
    except ValueError as error:
        raise SettingsError(f"{name} has value {raw!r}: {error}") from None


# field -> (environment variables, first found wins; parser). The README's settings table.
ENVIRONMENT: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "artifacts_path": (("IDS_ARTIFACTS_PATH", "ARTIFACTS_PATH"), lambda text: Path(_text(text))),
    "host": (("IDS_HOST",), _text),
    "port": (("IDS_PORT",), _port),
    "log_level": (("IDS_LOG_LEVEL", "LOG_LEVEL"), _log_level),
    "default_model": (("IDS_DEFAULT_MODEL",), _text),
    "max_batch_rows": (("IDS_MAX_BATCH_ROWS",), _positive_int),
    "max_body_bytes": (("IDS_MAX_BODY_BYTES",), _positive_int),
    "threads": (("IDS_THREADS",), _positive_int),
    "spinning": (("IDS_SPINNING",), _boolean),
    "offload_rows": (("IDS_OFFLOAD_ROWS",), _positive_int),
}
