"""Routes that note their path template in the request scope: metrics and access logs name the
route (`/v2/models/{name}/infer`), never the raw path, whose variety has no bound."""

from __future__ import annotations

from starlette import routing
from starlette.types import Scope

TEMPLATE = "ids.route"
UNMATCHED = "unmatched"


class Route(routing.Route):
    def matches(self, scope: Scope) -> tuple[routing.Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not routing.Match.NONE:
            child_scope[TEMPLATE] = self.path
        return match, child_scope


class Mount(routing.Mount):
    def matches(self, scope: Scope) -> tuple[routing.Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not routing.Match.NONE:
            child_scope[TEMPLATE] = self.path + "/{path}"
        return match, child_scope


class TemplateFinder:
    """The template of a request the router never saw (refused before routing: 401, 503)."""

    __slots__ = ("_cache", "_routes")

    def __init__(self, routes: list[routing.BaseRoute]) -> None:
        self._routes = routes
        self._cache: dict[tuple[str, str], str] = {}

    def find(self, scope: Scope) -> str:
        key = (scope["method"], scope["path"])
        found = self._cache.get(key)
        if found is None:
            found = UNMATCHED
            for route in self._routes:
                match, child_scope = route.matches(scope)
                if match is not routing.Match.NONE:
                    found = child_scope.get(TEMPLATE, UNMATCHED)
                    break
            if len(self._cache) >= 1024:  # bounded: paths are the client's choice
                self._cache.clear()
            self._cache[key] = found
        return found
