"""Markdown to safe HTML: markdown-it-py (CommonMark + tables), then nh3 sanitizing."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"class"},
    "td": {"class"},
    "code": {"class"},
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # html=False: raw HTML in input is shown as text, never interpreted.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


# Every page, feed and JSON document shows the same update bodies again after each change:
# rendering is pure, so the results are kept (bounded; bodies rarely exceed a few KB).
@lru_cache(maxsize=8192)
def render_markdown(source: str, *, heading_offset: int = 0) -> Markup:
    """Render Markdown to sanitized HTML, safe to put in a page as is.

    heading_offset demotes headings (1 turns `#` into <h2>) so a body's headings sit below the
    page's own; levels stop at <h6>.
    """
    parser = _parser()
    tokens = parser.parse(source)
    for token in tokens:
        if heading_offset and token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + heading_offset, 6)}"
        elif token.type in ("th_open", "td_open") and token.attrs.get("style"):
            # The page's CSP forbids inline styles: carry table alignment as a class.
            align = str(token.attrs.pop("style")).removeprefix("text-align:")
            token.attrs["class"] = f"align-{align}"
    html = parser.renderer.render(tokens, parser.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704  (sanitized by nh3 just above)
