"""A Statuspage stand-in on loopback: the management API (v1) and a page's public v2 API and
history feed, with pagination, rate-limit answers and failures the tests switch on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from peers.net import free_port
from peers.statuspage_data import PAGE_ID, TZ, FakePage

API_KEY = "sp-test-key-3f9a0c"
V2_COMPONENT = (
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
)
V2_INCIDENT = (
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
)
V2_UPDATE = (
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
)
OPEN = ("investigating", "identified", "monitoring")
LABEL = {"in_progress": "In progress"}


@dataclass
class Behaviour:
    """What the tests make the server do: answers to give first, paths that fail, the log."""

    before: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to answer first
    failing: set[str] = field(default_factory=set)  # paths answering 500 while listed
    recent: int = 50  # incidents.json holds this many
    log: list[tuple[str, str]] = field(default_factory=list)  # (path, query)
    auth: list[str | None] = field(default_factory=list)
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)  # run before answering


def v2_component(c: dict[str, Any]) -> dict[str, Any]:
    """A component as the public v2 API shows it."""
    out = {k: c.get(k) for k in V2_COMPONENT}
    if c.get("group"):
        out["components"] = c["components"]
    return out


def v2_incident(i: dict[str, Any]) -> dict[str, Any]:
    """An incident (or maintenance) as the public v2 API shows it."""
    out = {k: i.get(k) for k in V2_INCIDENT}
    if i.get("scheduled_for"):
        out |= {"scheduled_for": i["scheduled_for"], "scheduled_until": i["scheduled_until"]}
    out["incident_updates"] = [{k: u.get(k) for k in V2_UPDATE} for u in i["incident_updates"]]
    out["components"] = [v2_component(c) for c in i["components"]]
    return out


def _paged(request: Request, items: list[Any], size_param: str, first: int) -> list[Any]:
    size = int(request.query_params.get(size_param, "100"))
    number = int(request.query_params.get("page", str(first)))
    start = (number - first) * size
    return items[start : start + size]


def _feed(page: FakePage, base: str) -> str:
    """The page's /history.atom, one entry per incident, updates newest first."""
    entries = []
    for i in sorted(page.incidents, key=lambda x: x["updated_at"], reverse=True):
        parts = []
        for u in i["incident_updates"]:
            local = datetime.fromisoformat(u["display_at"]).astimezone(TZ)
            label = LABEL.get(u["status"], u["status"].replace("_", " ").capitalize())
            parts.append(
                f"<p><small>{local:%b} <var data-var='date'>{local.day}</var>, "
                f"<var data-var='time'>{local:%H:%M}</var> {local:%Z}</small><br>"
                f"<strong>{label}</strong> - {escape(u['body']).replace(chr(10), '<br />')}</p>"
            )
        entries.append(
            "<entry>"
            f"<id>tag:status.example,2005:Incident/{i['id']}</id>"
            f"<published>{i['created_at']}</published><updated>{i['updated_at']}</updated>"
            f'<link rel="alternate" type="text/html" href="{base}/incidents/{i["id"]}"/>'
            f"<title>{escape(i['name'])}</title>"
            f'<content type="html">{escape("".join(parts))}</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">'
        "<id>tag:status.example,2005:/history</id><title>Zaptec Status - Incident History</title>"
        f"<updated>{page.page['updated_at']}</updated>{''.join(entries)}</feed>"
    )


def build_app(page: FakePage, behaviour: Behaviour) -> Starlette:
    """The fake Statuspage as an ASGI app."""

    async def handle(request: Request) -> Response:
        path = request.url.path
        behaviour.log.append((path, request.url.query))
        if path in behaviour.hooks:
            behaviour.hooks[path]()
        queued = behaviour.before.get(path)
        if queued:
            status = queued.pop(0)
            headers = {"Retry-After": "1"} if status == 429 else {}
            return JSONResponse({"error": "Rate limited"}, status_code=status, headers=headers)
        if path in behaviour.failing:
            return JSONResponse({"error": "boom"}, status_code=500)
        if path.startswith("/v1/"):
            behaviour.auth.append(request.headers.get("authorization"))
            if request.headers.get("authorization") != f"OAuth {API_KEY}":
                return JSONResponse({"error": "Could not authenticate"}, status_code=401)
            return _v1(request, path.removeprefix(f"/v1/pages/{PAGE_ID}"), page)
        return _v2(request, path, page, behaviour)

    return Starlette(routes=[Route("/{path:path}", handle)])


def _v1(request: Request, rest: str, page: FakePage) -> Response:
    lists: dict[str, tuple[list[Any], str, int]] = {
        "/components": (page.components, "per_page", 1),
        "/component-groups": (page.groups, "per_page", 1),
        "/incidents": (page.incidents, "limit", 1),
        "/incidents/scheduled": (
            [i for i in page.incidents if i["status"] == "scheduled"],
            "per_page",
            1,
        ),
        "/incident_templates": (page.templates, "per_page", 1),
    }
    if rest == "":
        return JSONResponse(page.page)
    if rest in lists:
        items, size_param, first = lists[rest]
        return JSONResponse(_paged(request, items, size_param, first))
    if rest == "/subscribers":
        state = request.query_params.get("state", "active")
        return JSONResponse(_paged(request, page.subscribers.get(state, []), "limit", 0))
    parts = rest.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "incidents" and parts[2] == "postmortem":
        found = page.postmortems.get(parts[1])
        return JSONResponse(found) if found else JSONResponse({"error": "nf"}, status_code=404)
    if len(parts) == 3 and parts[0] == "components" and parts[2] == "uptime":
        found = page.uptime.get(parts[1])
        return JSONResponse(found) if found else JSONResponse({"error": "nf"}, status_code=404)
    return JSONResponse({"error": "Not found"}, status_code=404)


def _v2(request: Request, path: str, page: FakePage, behaviour: Behaviour) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    realtime = [v2_incident(i) for i in page.incidents if not i.get("scheduled_for")]
    maint = [v2_incident(i) for i in page.incidents if i.get("scheduled_for")]
    block = {k: page.page[k] for k in ("id", "name", "time_zone", "updated_at")} | {"url": base}
    components = [v2_component(c) for c in page.components]
    if path == "/api/v2/components.json":
        return JSONResponse({"page": block, "components": components})
    if path == "/api/v2/incidents.json":
        return JSONResponse({"page": block, "incidents": realtime[: behaviour.recent]})
    if path == "/api/v2/scheduled-maintenances.json":
        return JSONResponse({"page": block, "scheduled_maintenances": maint[:50]})
    if path == "/api/v2/summary.json":
        return JSONResponse(
            {
                "page": block,
                "components": components,
                "incidents": [i for i in realtime if i["status"] in OPEN],
                "scheduled_maintenances": [m for m in maint if m["status"] != "completed"],
                "status": {"indicator": "minor", "description": "Partially Degraded Service"},
            }
        )
    if path == "/history.atom":
        return Response(_feed(page, base), media_type="application/atom+xml")
    return JSONResponse({"error": "Not found"}, status_code=404)


@contextmanager
def serve(page: FakePage, behaviour: Behaviour) -> Iterator[str]:
    """Run the fake on 127.0.0.1 and yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        build_app(page, behaviour),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Statuspage did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
