#!/usr/bin/env python3
"""Container health check: exit 0 when the server answers ready, 1 otherwise.

The image's HEALTHCHECK (and compose's) runs it inside the container. It needs only the standard
library, so the image carries no curl. It asks `/v2/health/ready`, which turns false while the
server drains on SIGTERM, on the address and port the server reads from `IDS_HOST` / `IDS_PORT`.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

READY_ROUTE = "/v2/health/ready"
# A server bound to every address is reached on the loopback one.
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def probe_url(env: Mapping[str, str]) -> str:
    """The readiness URL of the server configured by `env`."""
    host = env.get("IDS_HOST", "").strip()
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = env.get("IDS_PORT", "").strip() or "8000"
    return f"http://{host}:{port}{READY_ROUTE}"


def main() -> int:
    url = probe_url(os.environ)
    timeout = float(os.environ.get("IDS_HEALTHCHECK_TIMEOUT", "4"))
    # No proxy: an HTTP_PROXY set for the container must not reroute a loopback probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        print(f"unhealthy: {url} answered {error.code}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    print(f"healthy: {url} answered {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
