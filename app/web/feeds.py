"""Feed routes: /history.{atom,rss}, /updates.{atom,rss}, /components/{id}/history.{atom,rss}."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response

from app import data_version, i18n
from app.cacheable import PublicRoute
from app.components import service as components
from app.config import Settings
from app.i18n import _
from app.incidents import read as incidents
from app.models import Incident
from app.web import feed_builder as feeds
from app.web import links
from app.web.conditional import conditional_response
from app.web.per_version import PerVersion, page_last_change
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
    r: Reader,
    flavor: Flavor,
    build: Builder,
    find: Callable[[], list[Incident]],
    path: str,
    what: str,
) -> Response:
    """Build a feed of the incidents `find` reads and answer it (with validators).

    The feed is built once until an incident or a component changes (a status change leaves
    it as it was); its Last-Modified, the page's last change, is read every time.
    """
    # Last-Modified is the page's last change, not the newest entry's: an entry can vanish
    # (a cancelled maintenance) and an If-Modified-Since must not then answer 304. A page
    # that never changed has changed as of now (never 1970).
    changed = page_last_change(r) or r.now
    prefix = links.language_prefix_of(r.request)
    title = _("%(name)s Status - %(what)s") % {"name": r.settings.page_name, "what": what}
    site = _site(r.settings, prefix)

    def built(details: list[incidents.IncidentDetail]) -> feeds.Feed:
        return build(site, details, flavor=flavor, path=prefix + path, title=title, changed=changed)

    def entries() -> feeds.Feed | None:
        details = incidents.load_details(r.session, find())
        return built(details) if details else None  # an empty feed's time is the last change

    kept: PerVersion = r.request.app.state.per_version
    key = ("feed", build.__name__, flavor, prefix + path, title, i18n.current())
    topics = (data_version.INCIDENTS, data_version.COMPONENTS)
    feed = kept.get(r.session, key, entries, topics=topics) or built([])
    return conditional_response(
        r.request,
        feed.body,
        media_type=feed.media_type,
        last_modified=max(feed.last_modified, changed),
    )


@router.get("/history.{flavor}", response_class=Response)
def history_feed(flavor: Flavor, r: ReaderDep) -> Response:
    """One entry per incident, Statuspage's feed shape."""

    def find() -> list[Incident]:
        return incidents.recently_changed(r.session, limit=feeds.FEED_ITEM_CAP)

    return _feed(r, flavor, feeds.history_feed, find, "/history", _("Incident History"))


@router.get("/updates.{flavor}", response_class=Response)
def updates_feed(flavor: Flavor, r: ReaderDep) -> Response:
    """One entry per incident update, so every update is a new item."""

    def find() -> list[Incident]:
        return incidents.with_recent_updates(r.session, limit=feeds.FEED_ITEM_CAP)

    return _feed(r, flavor, feeds.updates_feed, find, "/updates", _("Incident Updates"))


@router.get("/components/{component_id}/history.{flavor}", response_class=Response)
def component_feed(component_id: str, flavor: Flavor, r: ReaderDep) -> Response:
    """Incidents that affected one component (or any component of a group)."""
    component = components.get_component(r.session, component_id)

    def find() -> list[Incident]:
        ids = [component.id, *components.child_ids(r.session, component.id)]
        return incidents.recently_changed(r.session, limit=feeds.FEED_ITEM_CAP, component_ids=ids)

    path = f"/components/{component.id}/history"
    return _feed(
        r,
        flavor,
        feeds.history_feed,
        find,
        path,
        _("%(component)s Incident History") % {"component": component.name},
    )
