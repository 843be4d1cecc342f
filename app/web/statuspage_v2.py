"""The public JSON API, a drop-in for Atlassian Statuspage's /api/v2.

Same field names, enums, nesting and nulls as Statuspage; timestamps carry the page's UTC
offset. Beyond Statuspage: incidents.json pages through all history (page, per_page, since,
until, with Link headers). Every answer is cacheable (ETag, 304) and open to any origin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import Session

from app import data_version, i18n, timefmt
from app.cacheable import PublicRoute
from app.components import present as component_present
from app.components import read as component_read
from app.config import Settings
from app.errors import beyond_schema
from app.incidents import read
from app.incidents.present import present_incident
from app.maintenance import service as maintenance
from app.maintenance.present import present_maintenance
from app.models import OPEN_STATUSES, Incident
from app.schemas import TIME_RANGE, UtcDatetime
from app.web.conditional import conditional_response
from app.web.per_version import PerVersion, page_components, page_last_change
from app.web.reader import Reader, ReaderDep

router = APIRouter(
    prefix="/api/v2", tags=["public API v2 (Statuspage-compatible)"], route_class=PublicRoute
)
RECENT = 50  # Statuspage's incidents.json holds the 50 most recent
MAX_PER_PAGE = 100
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
    "chargers",  # Pharos's structured impact, only when given: Statuspage clients ignore it
}
MAINTENANCE_FIELDS = INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}


@dataclass(frozen=True)
class _Shared:
    """What several answers hold, built once per data version (see app.web.per_version):
    summary.json is components.json, status.json and unresolved.json together."""

    components: list[dict[str, Any]]
    status: dict[str, str]
    unresolved: list[dict[str, Any]]
    planned: list[dict[str, Any]]  # active and upcoming maintenances


def _shared(r: Reader) -> _Shared:
    session, settings = r.session, r.settings

    def build() -> _Shared:
        found = read.list_incidents(session, statuses=list(OPEN_STATUSES), limit=MAX_PER_PAGE)
        planned = maintenance.list_maintenances(
            session, statuses=maintenance.ACTIVE + maintenance.UPCOMING, limit=MAX_PER_PAGE
        )
        indicator, description = component_read.page_status(session)
        listed = _components(session, settings, r.request.app.state.per_version)
        return _Shared(
            components=listed,
            status={"indicator": indicator, "description": description},
            unresolved=_incidents(r, found, listed),
            planned=_incidents(r, planned, listed, maintenances=True),
        )

    shared: _Shared = r.request.app.state.per_version.get(session, "statuspage_v2", build)
    return shared


def _page(r: Reader) -> tuple[dict[str, Any], datetime]:
    settings = r.settings
    updated = page_last_change(r) or r.now  # a page that never changed: as of now
    block = {
        "id": settings.page_id,
        "name": settings.page_name,
        "url": settings.public_url,
        "time_zone": settings.timezone,
        "updated_at": timefmt.iso(updated, settings.tz),
    }
    return block, updated


def _public_component(item: dict[str, Any]) -> dict[str, Any]:
    item.pop("automation_email", None)  # a manage-API field
    if not item["group"]:
        item.pop("components", None)  # only groups list their components
    return item


def _components(
    session: Session, settings: Settings, kept: PerVersion | None = None
) -> list[dict[str, Any]]:
    everything = component_present.public_json(
        page_components(session, kept), page_id=settings.page_id, tz=settings.tz
    )
    return [_public_component(c) for c in everything]


def _incidents(
    r: Reader,
    found: list[Incident],
    listed: list[dict[str, Any]],
    *,
    maintenances: bool = False,
) -> list[dict[str, Any]]:
    """Statuspage's incident objects, each with its components as `listed` has them now.

    An incident's own fields, and which components it names in what order, change only with
    the incidents and the components themselves: they are kept until one of those changes
    (app.web.per_version), and a status change only swaps in the components' new objects.
    """
    kept: PerVersion = r.request.app.state.per_version
    key = ("v2 incidents", tuple(i.id for i in found), maintenances, i18n.current())
    shells = kept.get(
        r.session,
        key,
        lambda: _incident_shells(r, found, maintenances=maintenances),
        topics=(data_version.INCIDENTS, data_version.COMPONENTS),
    )
    by_id = {c["id"]: c for c in listed}
    out = []
    for item, ids in shells:
        components = [by_id.get(cid) for cid in ids] if ids is not None else [None]
        if any(c is None for c in components):  # a group, or listed is of another version
            return _incidents_now(r, found, maintenances=maintenances)
        out.append({**item, "components": components})
    return out


def _present(
    r: Reader, found: list[Incident], *, maintenances: bool
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    settings = r.settings
    present = present_maintenance if maintenances else present_incident
    fields = MAINTENANCE_FIELDS if maintenances else INCIDENT_FIELDS
    out = []
    for detail in read.load_details(r.session, found):
        public = present(
            detail, page_id=settings.page_id, public_url=settings.public_url, tz=settings.tz
        )
        item = public.model_dump(mode="json", include=fields)
        components = item["components"]
        item["components"] = []  # its place among the fields
        if item.get("chargers") is None:
            item.pop("chargers", None)
        out.append((item, components))
    return out


def _incident_shells(
    r: Reader, found: list[Incident], *, maintenances: bool
) -> list[tuple[dict[str, Any], list[str] | None]]:
    """Each incident without its components, and their ids in the order it lists them (None
    when one is a group: a group's object in an incident counts only its components named
    there, unlike the page's list)."""
    return [
        (item, None if any(c["group"] for c in components) else [c["id"] for c in components])
        for item, components in _present(r, found, maintenances=maintenances)
    ]


def _incidents_now(r: Reader, found: list[Incident], *, maintenances: bool) -> list[dict[str, Any]]:
    return [
        {**item, "components": [_public_component(c) for c in components]}
        for item, components in _present(r, found, maintenances=maintenances)
    ]


def _json(
    r: Reader, body: dict[str, Any], last_modified: datetime, headers: dict[str, str] | None = None
) -> Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    response = conditional_response(
        r.request, data, media_type="application/json", last_modified=last_modified
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _answer(r: Reader, key: str, value: object, headers: dict[str, str] | None = None) -> Response:
    """{"page": ..., key: value}, with the page's last change as Last-Modified."""
    page, updated = _page(r)
    return _json(r, {"page": page, key: value}, updated, headers)


@router.get("/status.json")
def status(r: ReaderDep) -> Response:
    """The page's status rollup: indicator and description."""
    return _answer(r, "status", _shared(r).status)


@router.get("/components.json")
def components_json(r: ReaderDep) -> Response:
    """Every component; groups list their components' ids."""
    return _answer(r, "components", _shared(r).components)


@router.get("/incidents/unresolved.json")
def unresolved(r: ReaderDep) -> Response:
    """Incidents in investigating, identified or monitoring."""
    return _answer(r, "incidents", _shared(r).unresolved)


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


@router.get("/incidents.json", responses=beyond_schema(TIME_RANGE))
def incidents_json(r: ReaderDep, pages: PagingDep) -> Response:
    """The most recent incidents (50 by default); page through older ones by started_at."""
    since, until = pages.since, pages.until
    found = read.list_incidents(
        r.session, since=since, until=until, limit=pages.per_page, offset=pages.offset
    )
    total = read.count_incidents(r.session, since=since, until=until)
    headers = pages.headers(f"{r.settings.public_url}/api/v2/incidents.json", total)
    return _answer(r, "incidents", _incidents(r, found, _shared(r).components), headers)


def _maintenances(
    r: Reader, found: list[Incident], headers: dict[str, str] | None = None
) -> Response:
    body = _incidents(r, found, _shared(r).components, maintenances=True)
    return _answer(r, "scheduled_maintenances", body, headers)


@router.get("/scheduled-maintenances.json", responses=beyond_schema(TIME_RANGE))
def maintenances(r: ReaderDep, pages: PagingDep) -> Response:
    """The 50 most recent maintenances, completed ones included; page by scheduled_for."""
    since, until = pages.since, pages.until
    found = maintenance.list_maintenances(
        r.session, since=since, until=until, limit=pages.per_page, offset=pages.offset
    )
    total = maintenance.count_maintenances(r.session, since=since, until=until)
    url = f"{r.settings.public_url}/api/v2/scheduled-maintenances.json"
    return _maintenances(r, found, pages.headers(url, total))


@router.get("/scheduled-maintenances/upcoming.json")
def upcoming(r: ReaderDep) -> Response:
    """Maintenances still scheduled, soonest first."""
    found = maintenance.list_maintenances(
        r.session, statuses=maintenance.UPCOMING, limit=MAX_PER_PAGE
    )
    return _maintenances(r, found)


@router.get("/scheduled-maintenances/active.json")
def active(r: ReaderDep) -> Response:
    """Maintenances in progress or verifying."""
    found = maintenance.list_maintenances(
        r.session, statuses=maintenance.ACTIVE, limit=MAX_PER_PAGE
    )
    return _maintenances(r, found)


@router.get("/summary.json")
def summary(r: ReaderDep) -> Response:
    """Status, components, unresolved incidents and upcoming or active maintenance at once."""
    shared = _shared(r)
    page, updated = _page(r)
    body = {
        "page": page,
        "components": shared.components,
        "incidents": shared.unresolved,
        "scheduled_maintenances": shared.planned,
        "status": shared.status,
    }
    return _json(r, body, updated)
