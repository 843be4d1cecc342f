"""Which answers are the same for every reader and change only with the data.

A route says so where it is defined: its router is made with ``route_class=PublicRoute``. The
render cache asks the app (``public_paths``) instead of keeping a list of addresses, so a new
public route is cached the moment it exists, and nothing else ever is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, compile_path
from starlette.staticfiles import StaticFiles


class PublicRoute(APIRoute):
    """A route whose answer is the same for every reader and changes only with the data."""


def _walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route with the prefix it is included under. Newer FastAPI keeps an included router
    as one entry holding the original router (and its include prefix); older FastAPI copies the
    routes in, prefixed."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is None:
            yield prefix, route
            continue
        context = getattr(route, "include_context", None)
        yield from _walk(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))


class PublicPaths:
    """Whether a request path is answered by a public route (or static files) of the app.

    The routes are read on first use, when the app is complete.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._patterns: list[re.Pattern[str]] | None = None
        self._prefixes: tuple[str, ...] = ()
        self._cached = lru_cache(maxsize=4096)(self._match)  # readers ask for few addresses

    def _learn(self) -> list[re.Pattern[str]]:
        patterns = []
        prefixes = []
        for prefix, route in _walk(self.app.routes):
            if isinstance(route, PublicRoute):
                patterns.append(
                    route.path_regex if not prefix else compile_path(prefix + route.path)[0]
                )
            elif isinstance(route, Mount) and isinstance(route.app, StaticFiles):
                prefixes.append(prefix + route.path.rstrip("/") + "/")
        self._prefixes = tuple(prefixes)
        return patterns

    def _match(self, path: str) -> bool:
        if self._patterns is None:
            self._patterns = self._learn()
        return path.startswith(self._prefixes) or any(p.match(path) for p in self._patterns)

    def __call__(self, path: str) -> bool:
        """True for an address the render cache may keep."""
        return self._cached(path)
