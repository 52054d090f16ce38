"""The server's settings: one frozen dataclass, read from the environment once.

Every knob has one environment variable (prefix `IDS_`); two older names the existing service's
operators already set are honoured too (`ARTIFACTS_PATH`, `LOG_LEVEL`). `MODEL_PATH` is not: it
pointed at pickles, and this server reads only the converted repository. A bad value stops
start-up with a message naming the variable and the value, as Starlette's `Config` does (bearer
tokens excepted: a message never repeats a token).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
TOKENS = "IDS_AUTH_TOKENS"
TOKENS_FILE = "IDS_AUTH_TOKENS_FILE"
# RFC 6750's b64token: what may follow "Bearer " in an Authorization header.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


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


def _count(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("not a valid number of seconds") from None
    if not 0 <= value < float("inf"):
        raise ValueError("must be 0 or more seconds")
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


def _path(text: str) -> Path:
    return Path(_text(text))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server is configured with; tests construct it directly."""

    artifacts_path: Path = Path("artifacts")
    host: str = "0.0.0.0"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    access_log: bool = True
    default_model: str = "random_forest"
    max_batch_rows: int = 1000
    max_body_bytes: int = 16 * 1024 * 1024
    max_concurrency: int = 128  # requests in progress per worker; 0: no limit
    request_timeout_seconds: float = 30.0  # 0: none
    keep_alive_seconds: float = 5.0
    graceful_shutdown_seconds: float = 30.0
    poll_seconds: float = 0.0  # 0: no polling of the repository
    auth_tokens: tuple[str, ...] = field(default=(), repr=False)  # never printed
    metrics_require_auth: bool = False
    intra_op_threads: int = 1
    batch_threads: int | None = None  # None: the usable cores shared out between the workers
    spinning: bool = False
    offload_rows: int = 64
    state_dir: Path | None = None  # None: a fresh temporary folder per server start

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in ENVIRONMENT:
                continue
            names, parser = ENVIRONMENT[item.name]
            for name in names:
                if name in env:
                    values[item.name] = _parse(name, env[name], parser)
                    break
        values["auth_tokens"] = _tokens(env)
        return cls(**values)

    def large_batch_threads(self) -> int:
        """Intra-op threads of the sessions that run large batches (off the event loop)."""
        return self.batch_threads or max(1, usable_cores() // self.workers)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values replaced (command-line flags win over the environment)."""
        return replace(self, **changes)


def default_artifacts() -> Path:
    """The server's repository, for commands that take `--artifacts`: `IDS_ARTIFACTS_PATH` /
    `ARTIFACTS_PATH`, else `artifacts`."""
    found = _from_environment("artifacts_path")
    return Path(found) if found else Settings().artifacts_path


def default_model() -> str:
    """The model the server answers with when a request names none: `IDS_DEFAULT_MODEL`, else
    `random_forest`; commands that take `--model` default to it, so they answer alike."""
    return _from_environment("default_model") or Settings().default_model


def _from_environment(setting: str) -> str | None:
    """A setting's value as given in the environment (first variable found), blank as unset."""
    names, _ = ENVIRONMENT[setting]
    return next((os.environ[n].strip() for n in names if os.environ.get(n, "").strip()), None)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _parse(name: str, raw: str, parser: Callable[[str], Any]) -> Any:
    try:
        return parser(raw)
    except ValueError as error:
        raise SettingsError(f"{name} has value {raw!r}: {error}") from None


def _tokens(env: Mapping[str, str]) -> tuple[str, ...]:
    """Bearer tokens: comma-separated in IDS_AUTH_TOKENS, or one a line in the file named by
    IDS_AUTH_TOKENS_FILE (blank lines and `#` comments skipped). Both at once is a mistake (which
    one would win is a guess an operator should not have to make), and so is a source that names
    no token: asking for auth and getting none must not start an open server."""
    if TOKENS in env and TOKENS_FILE in env:
        raise SettingsError(f"set {TOKENS} or {TOKENS_FILE}, not both")
    if TOKENS in env:
        source, entries = TOKENS, env[TOKENS].split(",")
    elif TOKENS_FILE in env:
        path = env[TOKENS_FILE]
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            raise SettingsError(
                f"{TOKENS_FILE} has value {path!r}: cannot read it ({reason})"
            ) from None
        source, entries = TOKENS_FILE, [line for line in lines if not line.startswith("#")]
    else:
        return ()
    tokens = tuple(dict.fromkeys(entry.strip() for entry in entries if entry.strip()))
    if not tokens:
        raise SettingsError(f"{source} is set but holds no token")
    for number, token in enumerate(tokens, 1):
        if not _TOKEN.fullmatch(token):
            raise SettingsError(
                f"{source}: token {number} has characters a bearer token cannot carry "
                "(letters, digits and -._~+/ then optional =)"
            )
    return tokens


# field -> (environment variables, first found wins; parser). The settings table of docs/serving.md.
ENVIRONMENT: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "artifacts_path": (("IDS_ARTIFACTS_PATH", "ARTIFACTS_PATH"), _path),
    "host": (("IDS_HOST",), _text),
    "port": (("IDS_PORT",), _port),
    "workers": (("IDS_WORKERS",), _positive_int),
    "log_level": (("IDS_LOG_LEVEL", "LOG_LEVEL"), _log_level),
    "access_log": (("IDS_ACCESS_LOG",), _boolean),
    "default_model": (("IDS_DEFAULT_MODEL",), _text),
    "max_batch_rows": (("IDS_MAX_BATCH_ROWS",), _positive_int),
    "max_body_bytes": (("IDS_MAX_BODY_BYTES",), _positive_int),
    "max_concurrency": (("IDS_MAX_CONCURRENCY",), _count),
    "request_timeout_seconds": (("IDS_REQUEST_TIMEOUT_SECONDS",), _seconds),
    "keep_alive_seconds": (("IDS_KEEP_ALIVE_SECONDS",), _seconds),
    "graceful_shutdown_seconds": (("IDS_GRACEFUL_SHUTDOWN_SECONDS",), _seconds),
    "poll_seconds": (("IDS_POLL_SECONDS",), _seconds),
    "metrics_require_auth": (("IDS_METRICS_REQUIRE_AUTH",), _boolean),
    "intra_op_threads": (("IDS_INTRA_OP_THREADS",), _positive_int),
    "batch_threads": (("IDS_BATCH_THREADS",), _positive_int),
    "spinning": (("IDS_SPINNING",), _boolean),
    "offload_rows": (("IDS_OFFLOAD_ROWS",), _positive_int),
    "state_dir": (("IDS_STATE_DIR",), _path),
}
