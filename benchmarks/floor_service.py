"""The floor: the serving stack alone (Starlette, uvicorn with uvloop and httptools, orjson).

Each route reads the whole request body, as a real handler must, and answers a constant JSON body
of the size a real prediction answer has, with no parsing and no inference. Nothing served over
this stack can be faster, so "fraction of the floor" says how much of the cost is ours.

    python -m benchmarks.floor_service --port 8002 --body /predict=single.json \
        --body /predict/batch=batch.json
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def constant_endpoint(body: bytes) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering the same JSON body to every request."""
    # Re-encoded once through orjson: the floor must serve valid JSON, as the server does.
    encoded = orjson.dumps(orjson.loads(body))

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(encoded, media_type="application/json")

    return endpoint


async def ready(request: Request) -> Response:
    return Response(b"", status_code=200)


def create_app(bodies: dict[str, bytes]) -> Starlette:
    """One POST route per path, each answering its constant body; GET /v2/health/ready for 200."""
    routes = [
        Route(path, constant_endpoint(body), methods=["POST"]) for path, body in bodies.items()
    ]
    routes.append(Route("/v2/health/ready", ready, methods=["GET"]))
    return Starlette(routes=routes)


def parse_body_option(option: str) -> tuple[str, bytes]:
    path, sep, file = option.partition("=")
    if not sep or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"--body wants /path=FILE, got {option!r}")
    return path, Path(file).read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The serving stack answering constant bodies.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--body", type=parse_body_option, action="append", required=True, metavar="/PATH=FILE"
    )
    args = parser.parse_args(argv)
    app = create_app(dict(args.body))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
