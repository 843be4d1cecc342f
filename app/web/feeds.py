"""Feed routes: /history.{atom,rss}, /updates.{atom,rss}, /components/{id}/history.{atom,rss}."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.cacheable import PublicRoute
from app.components import service as components
from app.config import Settings, SettingsDep
from app.db import ReadSessionDep
from app.incidents import read as incidents
from app.web import feed_builder as feeds
from app.web.conditional import conditional_response

router = APIRouter(tags=["feeds"], route_class=PublicRoute)


def _site(settings: Settings) -> feeds.FeedSite:
    return feeds.FeedSite(name=settings.page_name, public_url=settings.public_url, tz=settings.tz)


def _send(request: Request, session: Session, feed: feeds.Feed) -> Response:
    # Last-Modified is the page's last change, not the newest entry's: an entry can vanish
    # (a cancelled maintenance) and an If-Modified-Since must not then answer 304.
    changed = max(feed.last_modified, incidents.last_change(session) or feed.last_modified)
    return conditional_response(
        request, feed.body, media_type=feed.media_type, last_modified=changed
    )


@router.get("/history.{flavor}", response_class=Response)
def history_feed(
    flavor: Literal["atom", "rss"],
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
) -> Response:
    """One entry per incident, Statuspage's feed shape."""
    found = incidents.recently_changed(session, limit=feeds.FEED_ITEM_CAP)
    feed = feeds.history_feed(
        _site(settings),
        incidents.load_details(session, found),
        flavor=flavor,
        path="/history",
        title=f"{settings.page_name} Status - Incident History",
    )
    return _send(request, session, feed)


@router.get("/updates.{flavor}", response_class=Response)
def updates_feed(
    flavor: Literal["atom", "rss"],
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
) -> Response:
    """One entry per incident update, so every update is a new item."""
    found = incidents.with_recent_updates(session, limit=feeds.FEED_ITEM_CAP)
    feed = feeds.updates_feed(
        _site(settings),
        incidents.load_details(session, found),
        flavor=flavor,
        path="/updates",
        title=f"{settings.page_name} Status - Incident Updates",
    )
    return _send(request, session, feed)


@router.get("/components/{component_id}/history.{flavor}", response_class=Response)
def component_feed(
    component_id: str,
    flavor: Literal["atom", "rss"],
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
) -> Response:
    """Incidents that affected one component (or any component of a group)."""
    component = components.get_component(session, component_id)
    ids = [component.id, *components.child_ids(session, component.id)]
    found = incidents.recently_changed(session, limit=feeds.FEED_ITEM_CAP, component_ids=ids)
    feed = feeds.history_feed(
        _site(settings),
        incidents.load_details(session, found),
        flavor=flavor,
        path=f"/components/{component.id}/history",
        title=f"{settings.page_name} Status - {component.name} Incident History",
    )
    return _send(request, session, feed)
