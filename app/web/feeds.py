"""Feed routes: /history.{atom,rss}, /updates.{atom,rss}, /components/{id}/history.{atom,rss}."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response

from app.cacheable import PublicRoute
from app.components import service as components
from app.config import Settings
from app.i18n import _
from app.incidents import read as incidents
from app.models import Incident
from app.web import feed_builder as feeds
from app.web import links
from app.web.conditional import conditional_response
from app.web.per_version import page_last_change
from app.web.reader import Reader, ReaderDep

Flavor = feeds.Flavor
Builder = Callable[..., feeds.Feed]
router = APIRouter(tags=["feeds"], route_class=PublicRoute)


def _site(settings: Settings, language_prefix: str) -> feeds.FeedSite:
    return feeds.FeedSite(
        name=settings.page_name,
        public_url=settings.public_url,
        tz=settings.tz,
        language_prefix=language_prefix,
    )


def _feed(
    r: Reader, flavor: Flavor, build: Builder, found: list[Incident], path: str, what: str
) -> Response:
    """Build a feed of these incidents and answer it (with validators)."""
    # Last-Modified is the page's last change, not the newest entry's: an entry can vanish
    # (a cancelled maintenance) and an If-Modified-Since must not then answer 304. A page
    # that never changed has changed as of now (never 1970).
    changed = page_last_change(r) or r.now
    prefix = links.language_prefix_of(r.request)
    feed = build(
        _site(r.settings, prefix),
        incidents.load_details(r.session, found),
        flavor=flavor,
        path=prefix + path,  # its own URL: rel=self, feed id
        title=_("%(name)s Status - %(what)s") % {"name": r.settings.page_name, "what": what},
        changed=changed,
    )
    return conditional_response(
        r.request,
        feed.body,
        media_type=feed.media_type,
        last_modified=max(feed.last_modified, changed),
    )


@router.get("/history.{flavor}", response_class=Response)
def history_feed(flavor: Flavor, r: ReaderDep) -> Response:
    """One entry per incident, Statuspage's feed shape."""
    found = incidents.recently_changed(r.session, limit=feeds.FEED_ITEM_CAP)
    return _feed(r, flavor, feeds.history_feed, found, "/history", _("Incident History"))


@router.get("/updates.{flavor}", response_class=Response)
def updates_feed(flavor: Flavor, r: ReaderDep) -> Response:
    """One entry per incident update, so every update is a new item."""
    found = incidents.with_recent_updates(r.session, limit=feeds.FEED_ITEM_CAP)
    return _feed(r, flavor, feeds.updates_feed, found, "/updates", _("Incident Updates"))


@router.get("/components/{component_id}/history.{flavor}", response_class=Response)
def component_feed(component_id: str, flavor: Flavor, r: ReaderDep) -> Response:
    """Incidents that affected one component (or any component of a group)."""
    component = components.get_component(r.session, component_id)
    ids = [component.id, *components.child_ids(r.session, component.id)]
    found = incidents.recently_changed(r.session, limit=feeds.FEED_ITEM_CAP, component_ids=ids)
    path = f"/components/{component.id}/history"
    return _feed(
        r,
        flavor,
        feeds.history_feed,
        found,
        path,
        _("%(component)s Incident History") % {"component": component.name},
    )
