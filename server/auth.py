"""Optional bearer-token authentication: which paths need a token, and checking one."""

from __future__ import annotations

import hmac

# Probes must work without credentials (an orchestrator has none to give); /metrics too unless
# IDS_METRICS_REQUIRE_AUTH says otherwise (a Prometheus scrape can carry a bearer token).
HEALTH = frozenset({"/health", "/v2/health/live", "/v2/health/ready"})
METRICS = "/metrics"
CHALLENGE = b'Bearer realm="ids-inference"'
INVALID = CHALLENGE + b', error="invalid_token"'


class BearerAuth:
    """The configured tokens; `check` compares the presented one with every token, always all
    of them in constant time, so neither timing nor an early exit tells which one came close."""

    __slots__ = ("_tokens", "public")

    def __init__(self, tokens: tuple[str, ...], metrics_require_auth: bool) -> None:
        self._tokens = tuple(token.encode() for token in tokens)
        self.public = HEALTH if metrics_require_auth else HEALTH | {METRICS}

    def check(self, authorization: bytes | None) -> bytes | None:
        """None when the header carries a valid token, else the WWW-Authenticate challenge."""
        if authorization is None:
            return CHALLENGE
        scheme, _, credentials = authorization.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return CHALLENGE
        presented = credentials.strip()
        valid = False
        for token in self._tokens:
            valid |= hmac.compare_digest(presented, token)
        return None if valid else INVALID
