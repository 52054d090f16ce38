"""`Settings.from_env` done by a library: Starlette's `Config` (already a serve dependency) or
pydantic-settings. Both fill the same frozen `Settings` dataclass the server uses; the bearer
tokens (a list or a file of them, never repeated in a message) are read by our `_tokens` in
either, since neither library reads such a source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, StringConstraints, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.sources import PydanticBaseSettingsSource
from pydantic_settings.sources.utils import parse_env_vars
from starlette.config import Config

from server.settings import ENVIRONMENT, LOG_LEVELS, Settings, SettingsError, _tokens


def starlette_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Every variable through `Config(environ)(name, cast=parser)`; the first name found wins."""
    env = os.environ if environ is None else environ
    config = Config(environ=env)
    values: dict[str, Any] = {}
    for field, (names, parser) in ENVIRONMENT.items():
        for name in names:
            if name in env:
                try:
                    values[field] = config(name, cast=parser)
                except ValueError as error:
                    raise SettingsError(str(error)) from None
                break
    values["auth_tokens"] = _tokens(env)
    return Settings(**values)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_given: list[Mapping[str, str]] = []  # the mapping `pydantic_from_env` reads, while it reads


class _Environment(EnvSettingsSource):
    def _load_env_vars(self) -> Mapping[str, str | None]:
        if not _given:
            return super()._load_env_vars()
        return parse_env_vars(
            _given[-1], self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class LibrarySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IDS_", case_sensitive=False, frozen=True)

    artifacts_path: Path = Field(
        Path("artifacts"), validation_alias=AliasChoices("IDS_ARTIFACTS_PATH", "ARTIFACTS_PATH")
    )
    host: Text = "0.0.0.0"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    log_level: Literal[LOG_LEVELS] = Field(  # type: ignore[valid-type]
        "info", validation_alias=AliasChoices("IDS_LOG_LEVEL", "LOG_LEVEL")
    )
    access_log: bool = True
    default_model: Text = "random_forest"
    max_batch_rows: int = Field(1000, ge=1)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1)
    max_concurrency: int = Field(128, ge=0)
    request_timeout_seconds: Seconds = 30.0
    keep_alive_seconds: Seconds = 5.0
    graceful_shutdown_seconds: Seconds = 30.0
    poll_seconds: Seconds = 0.0
    metrics_require_auth: bool = False
    intra_op_threads: int = Field(1, ge=1)
    batch_threads: int | None = Field(None, ge=1)
    spinning: bool = False
    offload_rows: int = Field(64, ge=1)
    state_dir: Path | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("artifacts_path", "state_dir", mode="before")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value.strip() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_Environment(settings_cls),)


def pydantic_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    _given.append(env)
    try:
        read = LibrarySettings()  # type: ignore[call-arg]  # from the environment
    except ValidationError as error:
        raise SettingsError(str(error)) from None
    finally:
        _given.pop()
    return Settings(**read.model_dump(), auth_tokens=_tokens(env))
