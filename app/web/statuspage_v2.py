"""The public JSON API, a drop-in for Atlassian Statuspage's /api/v2.

Same field names, enums, nesting and nulls as Statuspage; timestamps carry the page's UTC
offset. Beyond Statuspage: incidents.json pages through all history (page, per_page, since,
until, with Link headers). Every answer is cacheable (ETag, 304) and open to any origin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import Session

from app.cacheable import PublicRoute
from app.components import present as component_present
from app.components import read as component_read
from app.components import service as components
from app.config import Settings, SettingsDep
from app.db import ReadSessionDep
from app.incidents import read
from app.incidents.present import present_incident
from app.maintenance import service as maintenance
from app.maintenance.present import present_maintenance
from app.models import OPEN_STATUSES, Incident, IncidentStatus
from app.schemas import UtcDatetime
from app.web.conditional import conditional_response

router = APIRouter(
    prefix="/api/v2", tags=["public API v2 (Statuspage-compatible)"], route_class=PublicRoute
)
RECENT = 50  # Statuspage's incidents.json holds the 50 most recent
MAX_PER_PAGE = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Statuspage's public incident object; maintenances add their window.
INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
MAINTENANCE_FIELDS = INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}


def _page(session: Session, settings: Settings) -> tuple[dict[str, Any], datetime]:
    updated = read.last_change(session) or EPOCH
    block = {
        "id": settings.page_id,
        "name": settings.page_name,
        "url": settings.public_url,
        "time_zone": settings.timezone,
        "updated_at": updated.astimezone(settings.tz).isoformat(),
    }
    return block, updated


def _public_component(item: dict[str, Any]) -> dict[str, Any]:
    item.pop("automation_email", None)  # a manage-API field
    if not item["group"]:
        item.pop("components", None)  # only groups list their components
    return item


def _components(session: Session, settings: Settings) -> list[dict[str, Any]]:
    everything = component_present.present_components(
        components.list_components(session), page_id=settings.page_id, tz=settings.tz
    )
    return [_public_component(c.model_dump(mode="json")) for c in everything]


def _incidents(
    session: Session, settings: Settings, found: list[Incident], *, maintenances: bool = False
) -> list[dict[str, Any]]:
    present = present_maintenance if maintenances else present_incident
    fields = MAINTENANCE_FIELDS if maintenances else INCIDENT_FIELDS
    out = []
    for detail in read.load_details(session, found):
        public = present(
            detail, page_id=settings.page_id, public_url=settings.public_url, tz=settings.tz
        )
        item = public.model_dump(mode="json", include=fields)
        item["components"] = [_public_component(c) for c in item["components"]]
        out.append(item)
    return out


def _json(
    request: Request,
    body: dict[str, Any],
    last_modified: datetime,
    headers: dict[str, str] | None = None,
) -> Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    response = conditional_response(
        request, data, media_type="application/json", last_modified=last_modified
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@router.get("/status.json")
def status(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Response:
    """The page's status rollup: indicator and description."""
    page, updated = _page(session, settings)
    indicator, description = component_read.page_status(session)
    body = {"page": page, "status": {"indicator": indicator, "description": description}}
    return _json(request, body, updated)


@router.get("/components.json")
def components_json(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Response:
    """Every component; groups list their components' ids."""
    page, updated = _page(session, settings)
    return _json(request, {"page": page, "components": _components(session, settings)}, updated)


@router.get("/incidents/unresolved.json")
def unresolved(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Response:
    """Incidents in investigating, identified or monitoring."""
    page, updated = _page(session, settings)
    found = read.list_incidents(session, statuses=list(OPEN_STATUSES), limit=MAX_PER_PAGE)
    return _json(
        request, {"page": page, "incidents": _incidents(session, settings, found)}, updated
    )


@dataclass(frozen=True)
class Paging:
    """History paging, beyond Statuspage: page, per_page, since, until."""

    page: int
    per_page: int
    since: datetime | None
    until: datetime | None

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    def headers(self, url: str, total: int) -> dict[str, str]:
        """X-Total-Count and RFC 8288 Link headers to the next and previous pages."""
        query = {k: v.isoformat() for k, v in (("since", self.since), ("until", self.until)) if v}
        links = []
        for rel, number, exists in (
            ("next", self.page + 1, self.page * self.per_page < total),
            ("prev", self.page - 1, self.page > 1),
        ):
            if exists:
                params = urlencode({**query, "page": number, "per_page": self.per_page})
                links.append(f'<{url}?{params}>; rel="{rel}"')
        headers = {"X-Total-Count": str(total)}
        if links:
            headers["Link"] = ", ".join(links)
        return headers


def paging(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = RECENT,
    since: Annotated[UtcDatetime | None, Query(description="at or after (with an offset)")] = None,
    until: Annotated[UtcDatetime | None, Query(description="before (with an offset)")] = None,
) -> Paging:
    """The paging query parameters."""
    return Paging(page=page, per_page=per_page, since=since, until=until)


PagingDep = Annotated[Paging, Depends(paging)]


@router.get("/incidents.json")
def incidents_json(
    request: Request, session: ReadSessionDep, settings: SettingsDep, pages: PagingDep
) -> Response:
    """The most recent incidents (50 by default); page through older ones by started_at."""
    block, updated = _page(session, settings)
    found = read.list_incidents(
        session, since=pages.since, until=pages.until, limit=pages.per_page, offset=pages.offset
    )
    total = read.count_incidents(session, since=pages.since, until=pages.until)
    headers = pages.headers(f"{settings.public_url}/api/v2/incidents.json", total)
    body = {"page": block, "incidents": _incidents(session, settings, found)}
    return _json(request, body, updated, headers)


def _maintenances(
    request: Request,
    session: Session,
    settings: Settings,
    statuses: tuple[IncidentStatus, ...] | None,
) -> Response:
    page, updated = _page(session, settings)
    found = maintenance.list_maintenances(session, statuses=statuses, limit=MAX_PER_PAGE)
    body = {
        "page": page,
        "scheduled_maintenances": _incidents(session, settings, found, maintenances=True),
    }
    return _json(request, body, updated)


@router.get("/scheduled-maintenances.json")
def maintenances(
    request: Request, session: ReadSessionDep, settings: SettingsDep, pages: PagingDep
) -> Response:
    """The 50 most recent maintenances, completed ones included; page by scheduled_for."""
    block, updated = _page(session, settings)
    found = maintenance.list_maintenances(
        session, since=pages.since, until=pages.until, limit=pages.per_page, offset=pages.offset
    )
    total = maintenance.count_maintenances(session, since=pages.since, until=pages.until)
    headers = pages.headers(f"{settings.public_url}/api/v2/scheduled-maintenances.json", total)
    body = {
        "page": block,
        "scheduled_maintenances": _incidents(session, settings, found, maintenances=True),
    }
    return _json(request, body, updated, headers)


@router.get("/scheduled-maintenances/upcoming.json")
def upcoming(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Response:
    """Maintenances still scheduled, soonest first."""
    return _maintenances(request, session, settings, maintenance.UPCOMING)


@router.get("/scheduled-maintenances/active.json")
def active(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Response:
    """Maintenances in progress or verifying."""
    return _maintenances(request, session, settings, maintenance.ACTIVE)


@router.get("/summary.json")
def summary(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Response:
    """Status, components, unresolved incidents and upcoming or active maintenance at once."""
    page, updated = _page(session, settings)
    found = read.list_incidents(session, statuses=list(OPEN_STATUSES), limit=MAX_PER_PAGE)
    indicator, description = component_read.page_status(session)
    body = {
        "page": page,
        "components": _components(session, settings),
        "incidents": _incidents(session, settings, found),
        "scheduled_maintenances": _incidents(
            session,
            settings,
            maintenance.list_maintenances(
                session, statuses=maintenance.ACTIVE + maintenance.UPCOMING, limit=MAX_PER_PAGE
            ),
            maintenances=True,
        ),
        "status": {"indicator": indicator, "description": description},
    }
    return _json(request, body, updated)
