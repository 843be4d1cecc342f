"""The status embed: /embed/ (a small page for an iframe: the page's status and any active
incident or maintenance) and /embed.js (puts that iframe where its script tag is).

Embedding is opt-in per origin: /embed/ carries `frame-ancestors` with the origins in
PHAROS_EMBED_ORIGINS (none by default, so no other site may frame it).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from app import labels
from app.brand import current
from app.cacheable import PublicRoute
from app.components import read as component_read
from app.incidents import read as incidents
from app.maintenance import service as maintenance
from app.models import OPEN_STATUSES
from app.page import page_info
from app.web.reader import ReaderDep
from app.web.security import embed_csp

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)

SCRIPT = """(function () {
  var me = document.currentScript;
  var src = new URL(me.getAttribute("src"), document.baseURI);
  var lang = me.getAttribute("data-lang");
  var frame = document.createElement("iframe");
  frame.src = new URL((lang ? lang + "/" : "") + "embed/", new URL("./", src)).href;
  frame.title = me.getAttribute("data-title") || "Status";
  frame.loading = "lazy";
  frame.style.cssText = "border:0;width:100%;max-width:28rem;height:8.5rem;color-scheme:normal";
  me.parentNode.insertBefore(frame, me.nextSibling);
})();
"""


@router.get("/embed/")
def embed(r: ReaderDep) -> HTMLResponse:
    """The page's status and what is going on now, for an iframe on the operator's own site."""
    indicator, description = component_read.page_status(r.session)
    active = incidents.list_incidents(r.session, statuses=list(OPEN_STATUSES), limit=3)
    running = maintenance.list_maintenances(r.session, statuses=maintenance.ACTIVE)[:3]
    response: HTMLResponse = r.request.app.state.templates.TemplateResponse(
        r.request,
        "embed.html",
        {
            "page": page_info(r.settings, current(r.session, r.settings)),
            "indicator": indicator,
            "description": labels.page_status(description),
            "active": [(i.id, i.name, labels.incident_status(i.status)) for i in active],
            "maintenance": [(m.id, m.name, labels.incident_status(m.status)) for m in running],
        },
    )
    response.headers["Content-Security-Policy"] = embed_csp(r.settings.embed_origin_list)
    return response


@router.get("/embed.js")
def embed_script() -> Response:
    """Adds the embed's iframe after its own script tag (data-lang picks a language)."""
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8")
