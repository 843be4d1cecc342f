"""Atom and RSS feeds with feedgen, in Statuspage's shape plus a per-update feed.

History feeds carry one entry per incident (stable id, content = every update newest first),
as Statuspage's do. Update feeds carry one entry per update with its own id, so readers that
only notice new guids still see every update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from typing import Literal
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator

from app import i18n, labels
from app.i18n import _
from app.incidents.present import chargers_impact, page_path
from app.incidents.read import IncidentDetail
from app.models import Incident, IncidentUpdate
from app.text import xml_safe

FEED_ITEM_CAP = 50  # newest entries per feed; the page's /history has the rest
Flavor = Literal["atom", "rss"]
MEDIA_TYPES: dict[Flavor, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}


@dataclass(frozen=True)
class FeedSite:
    """What a feed needs to know about the page."""

    name: str
    public_url: str
    tz: tzinfo
    # A translated feed's /{lang}: its links lead to the pages in its language
    language_prefix: str = ""

    @property
    def tag_authority(self) -> str:
        """The host part of tag: URIs (RFC 4151)."""
        return urlsplit(self.public_url).hostname or "localhost"

    def incident_url(self, incident: Incident) -> str:
        """Absolute URL of an incident's (or a maintenance's) page."""
        return f"{self.public_url}{self.language_prefix}{page_path(incident)}"

    @property
    def history_url(self) -> str:
        """Absolute URL of the history page, in the feed's language."""
        return f"{self.public_url}{self.language_prefix}/history"


@dataclass(frozen=True)
class Feed:
    """A rendered feed and its validators."""

    body: bytes
    media_type: str
    last_modified: datetime


def _stamp(at: datetime, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%b %d}, {local:%H:%M %Z}"


def update_html(update: IncidentUpdate, tz: tzinfo) -> str:
    """One update as Statuspage's feeds show it: stamp, bold status, text."""
    body = escape(update.body).replace("\n", "<br>")
    return (
        f"<p><small>{_stamp(update.display_at, tz)}</small><br>"
        f"<strong>{labels.incident_status(update.status)}</strong> - {body}</p>"
    )


def _impact_html(incident: Incident) -> str:
    impact = chargers_impact(incident)
    if impact is None:
        return ""
    text = i18n.ngettext(
        "%(affected)d of %(num)d charger affected",
        "%(affected)d of %(num)d chargers affected",
        impact.total,
    ) % {"affected": impact.affected, "num": impact.total}
    return f"<p><strong>{escape(text)}</strong></p>"


def _generator(
    site: FeedSite, *, title: str, path: str, flavor: Flavor, updated: datetime, feed_id: str
) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(f"tag:{site.tag_authority},2005:{feed_id}")
    fg.title(xml_safe(title))
    fg.author({"name": xml_safe(site.name)})
    fg.link(
        href=f"{site.public_url}{path}.{flavor}", rel="self", type=MEDIA_TYPES[flavor].split(";")[0]
    )
    fg.link(href=site.history_url, rel="alternate", type="text/html")
    fg.description(
        _("Incidents and updates of %(name)s, newest %(count)d. Older ones: %(url)s")
        % {"name": xml_safe(site.name), "count": FEED_ITEM_CAP, "url": site.history_url}
    )
    fg.language(i18n.current())
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.generator("Pharos")
    return fg


def _entry(
    fg: FeedGenerator,
    flavor: Flavor,
    *,
    atom_id: str,
    url: str,
    title: str,
    published: datetime,
    updated: datetime,
    rss_date: datetime,
    html: str,
) -> None:
    # feedgen keeps one id for both formats; Atom gets a tag: URI, RSS the page URL as guid.
    # Nothing is published after its last change (a maintenance scheduled ahead, say).
    published = min(published, updated)
    entry = fg.add_entry(order="append")
    # Stored text may predate the input checks: drop what XML can't carry, never fail.
    title, html = xml_safe(title), xml_safe(html)
    entry.title(title)
    entry.link(href=url, rel="alternate", type="text/html")
    if flavor == "atom":
        entry.published(published)
        entry.updated(updated)
        entry.id(atom_id)
        entry.content(html, type="html")
    else:
        entry.pubDate(rss_date)
        entry.guid(url, permalink=True)
        entry.description(html)


_RSS_TITLE = re.compile(rb"<title>([^<]*)</title>")
# RSS titles are plain text that readers often take for HTML: the RSS Advisory Board (and the
# W3C validator) ask for "&" and "<" as hexadecimal character references there.
_RSS_PLAIN = {b"&amp;": b"&#x26;", b"&lt;": b"&#x3C;"}


def _rss_title(match: re.Match[bytes]) -> bytes:
    text = match.group(1)
    for entity, reference in _RSS_PLAIN.items():
        text = text.replace(entity, reference)
    return b"<title>" + text + b"</title>"


def _serialize(fg: FeedGenerator, flavor: Flavor, updated: datetime) -> Feed:
    if flavor == "atom":
        body: bytes = fg.atom_str(pretty=True)
    else:
        body = _RSS_TITLE.sub(_rss_title, fg.rss_str(pretty=True))
    return Feed(body=body, media_type=MEDIA_TYPES[flavor], last_modified=updated)


def history_feed(
    site: FeedSite,
    details: list[IncidentDetail],
    *,
    flavor: Flavor,
    path: str,
    title: str,
    changed: datetime,
) -> Feed:
    """One entry per incident; content is its whole timeline, newest first.

    `changed` is when the page last changed: an empty feed's updated time.
    """
    details = sorted(details, key=lambda d: d.incident.updated_at, reverse=True)[:FEED_ITEM_CAP]
    updated = max((d.incident.updated_at for d in details), default=changed)
    fg = _generator(site, title=title, path=path, flavor=flavor, updated=updated, feed_id=path)
    for detail in details:
        i = detail.incident
        _entry(
            fg,
            flavor,
            atom_id=f"tag:{site.tag_authority},2005:Incident/{i.id}",
            url=site.incident_url(i),
            title=i.name,
            # A maintenance's start is ahead of its announcement: it was published when made.
            published=min(i.started_at, i.created_at),
            updated=i.updated_at,
            rss_date=i.updated_at,
            html=_impact_html(i) + "".join(update_html(u, site.tz) for u in detail.updates),
        )
    return _serialize(fg, flavor, updated)


def updates_feed(
    site: FeedSite,
    details: list[IncidentDetail],
    *,
    flavor: Flavor,
    path: str,
    title: str,
    changed: datetime,
) -> Feed:
    """One entry per update (its own id), newest first, titled "Incident name - Status".

    `changed` is when the page last changed: an empty feed's updated time.
    """
    pairs = [(d, u) for d in details for u in d.updates]
    pairs.sort(key=lambda p: (p[1].created_at, p[1].display_at), reverse=True)
    pairs = pairs[:FEED_ITEM_CAP]
    updated = max((u.updated_at for _, u in pairs), default=changed)
    fg = _generator(site, title=title, path=path, flavor=flavor, updated=updated, feed_id=path)
    for detail, u in pairs:
        _entry(
            fg,
            flavor,
            atom_id=f"tag:{site.tag_authority},2005:IncidentUpdate/{u.id}",
            url=f"{site.incident_url(detail.incident)}#update-{u.id}",
            title=f"{detail.incident.name} - {labels.incident_status(u.status)}",
            published=u.display_at,
            updated=u.updated_at,
            rss_date=u.display_at,
            # The incident's impact in chargers heads its newest update only.
            html=(_impact_html(detail.incident) if u is detail.updates[0] else "")
            + update_html(u, site.tz),
        )
    return _serialize(fg, flavor, updated)
