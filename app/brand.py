"""The page's brand: what staff set in the admin UI, else the PHAROS_BRAND_* configuration.

Logo (light and dark), favicon, accent colour, title, footer links and a custom style sheet.
Stored in one row (BrandSetting); each empty field falls back to its configuration. The row is
public data, so saving it moves the data version and the render cache re-renders the pages.

Input is checked so that the page keeps working under its Content-Security-Policy
(app.web.security) and stays readable: images (logos, favicon) from https: or this site; links
to http(s) or this site; an accent with WCAG AA contrast (4.5:1) against the light scheme's
backgrounds (the dark scheme gets a lighter shade of it, app.contrast); a style sheet of at
most CSS_MAX_BYTES with nothing the policy would block or that runs code (no @import, web
fonts, url() to other schemes, expression() or javascript:).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.audit import service as audit
from app.config import Settings
from app.contrast import accent_problem
from app.db import read_session
from app.models import BrandSetting

log = logging.getLogger(__name__)

CSS_MAX_BYTES = 20_000
FOOTER_LINKS_MAX = 10
ACCENT = re.compile(r"#[0-9a-fA-F]{6}")
# What a style sheet may not hold: loads the policy blocks (style-src and font-src are 'self'
# only through the page's own files), or ways to run code.
CSS_REFUSED = {
    "@import": re.compile(r"@import", re.IGNORECASE),
    "@font-face (web fonts are blocked by the page's policy)": re.compile(
        r"@font-face", re.IGNORECASE
    ),
    "expression()": re.compile(r"expression\s*\(", re.IGNORECASE),
    "javascript:": re.compile(r"javascript\s*:", re.IGNORECASE),
    "behavior:": re.compile(r"behavior\s*:", re.IGNORECASE),
    "-moz-binding": re.compile(r"-moz-binding", re.IGNORECASE),
    "</style": re.compile(r"</\s*style", re.IGNORECASE),
}
CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)", re.IGNORECASE)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _image_url(value: str | None) -> str | None:
    """An image the page's policy lets load: https:, or a path on this site."""
    value = _text(value)
    if value is None:
        return None
    if any(c.isspace() or c in "\"'<>" for c in value):
        raise ValueError("an address has no spaces or quotes")
    if value.startswith("https://") and len(value) > len("https://"):
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    raise ValueError("use an https:// address or a path on this site (/static/logo.svg)")


def _link_url(value: str) -> str:
    value = value.strip()
    if any(c.isspace() or c in "\"'<>" for c in value):
        raise ValueError(f"{value!r}: an address has no spaces or quotes")
    if value.startswith(("https://", "http://")) and "://" in value and len(value) > 8:
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    raise ValueError(f"{value!r}: use an http(s):// address or a path on this site")


def _accent(value: str | None) -> str | None:
    value = _text(value)
    if value is not None and not ACCENT.fullmatch(value):
        raise ValueError("write the colour as #rrggbb, e.g. #0a6e5c")
    problem = accent_problem(value.lower()) if value else None
    if problem:
        raise ValueError(problem)
    return value.lower() if value else None


def _footer_links(value: Any) -> list[list[str]]:
    """One link per line, 'Label|https://url' (or a list of [label, url] pairs)."""
    if isinstance(value, str):
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        pairs = []
        for line in lines:
            label, bar, url = line.partition("|")
            if not bar or not label.strip():
                raise ValueError(f"{line!r}: write one link a line as 'Label|https://url'")
            pairs.append([label.strip(), url])
    else:
        pairs = [list(pair) for pair in value or []]
    if len(pairs) > FOOTER_LINKS_MAX:
        raise ValueError(f"at most {FOOTER_LINKS_MAX} links")
    out = []
    for label, url in pairs:
        if len(label) > 100:
            raise ValueError(f"{label[:20]!r}…: a label has at most 100 characters")
        out.append([label.strip(), _link_url(url)])
    return out


def _css(value: str | None) -> str | None:
    value = _text(value)
    if value is None:
        return None
    if len(value.encode()) > CSS_MAX_BYTES:
        raise ValueError(f"at most {CSS_MAX_BYTES:,} bytes of CSS")
    for what, pattern in CSS_REFUSED.items():
        if pattern.search(value):
            raise ValueError(f"the page's policy does not allow {what} in its style sheet")
    for _quote, target in CSS_URL.findall(value):
        target = target.strip()
        if not (
            target.startswith(("https://", "data:image/", "#"))
            or (target.startswith("/") and not target.startswith("//"))
        ):
            raise ValueError(
                f"url({target}): use https://, a data:image/ address or a path on this site"
            )
    return value


class BrandForm(BaseModel):
    """The brand as staff send it; an empty field means "as configured"."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str | None, AfterValidator(_text)] = None
    logo_url: Annotated[str | None, AfterValidator(_image_url)] = None
    logo_dark_url: Annotated[str | None, AfterValidator(_image_url)] = None
    favicon_url: Annotated[str | None, AfterValidator(_image_url)] = None
    accent: Annotated[str | None, AfterValidator(_accent)] = None
    footer_links: Annotated[Any, AfterValidator(_footer_links)] = ""
    custom_css: Annotated[str | None, AfterValidator(_css)] = None


@dataclass(frozen=True)
class Brand:
    """The brand the pages show: stored fields, else configuration."""

    title: str | None = None
    logo_url: str | None = None
    logo_dark_url: str | None = None
    favicon_url: str | None = None
    accent: str | None = None
    footer_links: tuple[tuple[str, str], ...] = ()
    css: str = ""  # the custom style sheet (stored, else the configured file's)


def stored(session: Session) -> BrandSetting | None:
    """The brand staff set, if any."""
    return session.get(BrandSetting, 1)


_css_files: dict[Path, tuple[tuple[int, int], str]] = {}  # path: ((mtime ns, size), text)


def configured_css(path: Path) -> str:
    """The text of the configured style sheet (PHAROS_BRAND_CSS_FILE), read again only when
    the file changed (its modification time or size), not at every render. The pages show a
    change at their next render (at most PHAROS_RENDER_CACHE_TTL_SECONDS later). A file that
    can't be read leaves the page without it, and says so in the log."""
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
        kept = _css_files.get(path)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("the brand style sheet %s can't be read: %s", path, exc)
        return ""
    _css_files[path] = (stamp, text)
    return text


def effective(settings: Settings, row: BrandSetting | None) -> Brand:
    """Each field as stored, else as configured."""
    css = row.custom_css if row is not None and row.custom_css else None
    if css is None and settings.brand_css_file is not None:
        css = configured_css(settings.brand_css_file)
    links = row.footer_links if row is not None and row.footer_links else None
    return Brand(
        title=(row.title if row else None) or settings.brand_title,
        logo_url=(row.logo_url if row else None) or settings.brand_logo_url,
        logo_dark_url=(row.logo_dark_url if row else None) or settings.brand_logo_dark_url,
        favicon_url=(row.favicon_url if row else None) or settings.brand_favicon_url,
        accent=(row.accent if row else None) or settings.brand_accent,
        footer_links=tuple((label, url) for label, url in links)
        if links
        else tuple(settings.footer_links),
        css=css or "",
    )


def current(session: Session, settings: Settings) -> Brand:
    """The brand the pages show now."""
    return effective(settings, stored(session))


def current_from(engine: Engine, settings: Settings) -> Brand:
    """As `current`, in a session of its own; the configured brand if the database can't be
    read (an error page must still render while the database is down)."""
    try:
        with read_session(engine) as session:
            return current(session, settings)
    except Exception:  # the page still shows, branded as configured
        log.warning("reading the stored brand failed", exc_info=True)
        return effective(settings, None)


def save(session: Session, data: BrandForm, *, actor: str, now: datetime) -> BrandSetting:
    """Store the brand (the whole form: an empty field returns to the configured value)."""
    row = stored(session)
    if row is None:
        row = BrandSetting(id=1, updated_at=now)
        session.add(row)
    before = {field: getattr(row, field) for field in BrandForm.model_fields}
    for field in BrandForm.model_fields:
        setattr(row, field, getattr(data, field))
    changed = sorted(field for field, old in before.items() if getattr(row, field) != old)
    row.updated_at = now
    session.flush()
    audit.record(session, actor, "brand.updated", "1", at=now, data={"changed": changed})
    return row
