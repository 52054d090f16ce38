"""The OpenAPI document (placeholder until the full description is written below)."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "ids-inference", "version": "0.1.0"}, "paths": {}}
