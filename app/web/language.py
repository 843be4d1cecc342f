"""The reader's language: an explicit /{lang}/ prefix, else Accept-Language, else the default.

`LanguageRouting` sits under the render cache. A prefixed request (/de/history/) is routed as
the unprefixed one (/history/) with German set for its work; the prefix is kept in the scope
so links to things that have no language (the style sheet) can still be made relative to where
the page really is. The render cache keys an unprefixed public page by the language Accept-Language
chooses (`cache_path`), and renders it as that language's prefixed page, so every language is
cached once and a reader's headers never reach the bytes served to others.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n

PREFIX_KEY = "pharos.language_prefix"  # the scope key: "/de", or "" for none
# Addresses that mean the same in every language: never prefixed, never varied.
NEUTRAL = ("/static/", "/api/", "/admin", "/metrics", "/healthz", "/docs", "/redoc", "/openapi")


def split_prefix(path: str) -> tuple[str | None, str]:
    """("de", "/history/") for "/de/history/"; (None, path) when it has no language prefix."""
    if len(path) >= 3 and path[0] == "/" and (len(path) == 3 or path[3] == "/"):
        language = path[1:3]
        if language in i18n.LANGUAGES:
            return language, path[3:] or "/"
    return None, path


@lru_cache(maxsize=512)  # readers send few distinct values
def negotiate(accept_language: bytes | None, default: str) -> str:
    """The shipped language a reader's Accept-Language prefers most; `default` if none."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.decode("latin-1").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if q <= 0:
            continue
        primary = tag.strip().lower().replace("_", "-").split("-")[0]
        if primary in ("no", "nn"):  # Norwegian, or Nynorsk: Bokmål is what we ship
            primary = "nb"
        if primary == "*":
            primary = default
        if primary in i18n.LANGUAGES:
            choices.append((-q, index, primary))
    return min(choices)[2] if choices else default


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def cache_path(path: str, accept_language: Callable[[], bytes | None], default: str) -> str:
    """The address the render cache keeps a read of `path` under: prefixed with the language
    the reader's Accept-Language (read only if needed) chooses, unless that is the default or
    the address means the same in every language."""
    if path.startswith(NEUTRAL) or split_prefix(path)[0] is not None:
        return path
    language = negotiate(accept_language(), default)
    return path if language == default else f"/{language}{path}"


class LanguageRouting:
    """Choose the request's language; strip an explicit prefix before routing."""

    def __init__(self, app: ASGIApp, *, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language, path = split_prefix(scope["path"])
        if language is not None:
            scope = {**scope, "path": path, "raw_path": path.encode(), PREFIX_KEY: f"/{language}"}
            varies = False
        else:
            scope = {**scope, PREFIX_KEY: ""}
            language = negotiate(_header(scope, b"accept-language"), self.default)
            varies = not path.startswith(NEUTRAL)
        i18n.set_current(language)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith(("text/html", "image/svg")):
                    headers.setdefault("Content-Language", language)
                if varies:
                    headers.add_vary_header("Accept-Language")
            await send(message)

        await self.app(scope, receive, send_with_language)


def prefix_of(scope: Scope) -> str:
    """The language prefix the page was asked for under ("" for none)."""
    prefix: str = scope.get(PREFIX_KEY, "")
    return prefix
