"""Relative links, so a page works from any base URL: live, or as a static copy on a CDN.

Views and templates name targets by their site path ("/incidents/abc/"); `href` turns that
into a link relative to the page being rendered ("../../incidents/abc/" from another incident).
Pages live at folder-like paths ending in "/" so a static copy serves them as index.html.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from jinja2 import pass_context

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


@pass_context
def href(context: Any, target: str) -> str:
    """Jinja global: a link to `target` relative to the page being rendered."""
    request = context.get("request")
    return relative(target, request.url.path if request is not None else "/")
