"""Relative links, so a page works from any base URL: live, or as a static copy on a CDN.

Views and templates name targets by their site path ("/incidents/abc/"); `href` turns that
into a link relative to the page being rendered ("../../incidents/abc/" from another incident).
Pages live at folder-like paths ending in "/" so a static copy serves them as index.html.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import urlencode

from jinja2 import pass_context

from app.web.language import PREFIX_KEY

_SPLIT = re.compile(r"[?#]")


def relative(target: str, current: str) -> str:
    """`target` (an absolute site path, maybe with ?query or #fragment) as seen from `current`."""
    if not target.startswith("/"):
        return target  # already relative, or absolute with a scheme
    match = _SPLIT.search(target)
    path, rest = (target[: match.start()], target[match.start() :]) if match else (target, "")
    base = current[: current.rindex("/") + 1] if "/" in current else "/"
    link = posixpath.relpath(path, base)
    if link == ".":
        link = "./"
    elif path.endswith("/"):
        link += "/"
    return link + rest


# Site paths that are the same in every language (outside any /{lang}/ prefix).
UNPREFIXED = ("/static/", "/api/")


def language_prefix_of(request: Any) -> str:
    """The /{lang} prefix the page was asked for under ("" without one)."""
    return str(request.scope.get(PREFIX_KEY, "")) if request is not None else ""


@pass_context
def href(context: Any, target: str) -> str:
    """Jinja global: a link to `target` relative to the page being rendered (within the
    page's language; the style sheet and other language-free files are outside it)."""
    request = context.get("request")
    current = request.url.path if request is not None else "/"
    if target.startswith(UNPREFIXED):
        return relative(target, language_prefix_of(request) + current)
    return relative(target, current)


@pass_context
def href_language(context: Any, language: str) -> str:
    """Jinja global: this page in another language (always prefixed, so a reader whose
    browser prefers another language can still choose)."""
    request = context.get("request")
    current = request.url.path if request is not None else "/"
    link = relative(f"/{language}{current}", language_prefix_of(request) + current)
    return link + _kept_query(request, current)


# Query parameters a page's other languages keep (a chosen uptime range); others are dropped.
KEPT_QUERY = {"/uptime/": ("from", "to")}


def _kept_query(request: Any, path: str) -> str:
    if request is None:
        return ""
    names = next((kept for prefix, kept in KEPT_QUERY.items() if path.startswith(prefix)), ())
    pairs = [(n, request.query_params[n]) for n in names if n in request.query_params]
    return "?" + urlencode(pairs) if pairs else ""


@pass_context
def language_prefix(context: Any) -> str:
    """Jinja global: the page's /{lang} prefix, for absolute links to the live service."""
    return language_prefix_of(context.get("request"))
