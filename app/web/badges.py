"""Status badges (shields.io style SVG) for READMEs and dashboards."""

from __future__ import annotations

from datetime import datetime
from html import escape

from fastapi import APIRouter, Response

from app import labels
from app.cacheable import PublicRoute
from app.components import present as component_present
from app.components import read as component_read
from app.components import service as components
from app.i18n import _
from app.web.conditional import conditional_response
from app.web.per_version import page_last_change
from app.web.reader import Reader, ReaderDep

router = APIRouter(tags=["badges"], include_in_schema=False, route_class=PublicRoute)
# Colours with at least 4.5:1 contrast for white text.
INDICATOR_COLOURS = {
    "none": "#1b7f3b",
    "maintenance": "#1f5fbf",
    "minor": "#8a6100",
    "major": "#b34700",
    "critical": "#b3261e",
}
STATUS_INDICATOR = {
    "operational": "none",
    "under_maintenance": "maintenance",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
LABEL_COLOUR = "#555"
NARROW = set("fijlrtI1!.,:;' |()[]")
WIDE = set("mwMW@%")


def text_width(text: str) -> int:
    """Approximate rendered width in pixels of 11px Verdana-like text."""
    return sum(4 if c in NARROW else 10 if c in WIDE else 7 for c in text) + 10


def badge_svg(label: str, message: str, colour: str) -> bytes:
    """A two-part flat badge; text is XML-escaped."""
    left, right = text_width(label), text_width(message)
    total = left + right
    title = escape(f"{label}: {message}")
    label_x, message_x = left * 5, (left + right / 2) * 10
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" \
aria-label="{title}"><title>{title}</title>\
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>\
<stop offset="1" stop-opacity=".1"/></linearGradient>\
<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>\
<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>\
<rect x="{left}" width="{right}" height="20" fill="{colour}"/>\
<rect width="{total}" height="20" fill="url(#s)"/></g>\
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" \
font-size="110" transform="scale(.1)">\
<text x="{label_x}" y="140">{escape(label)}</text>\
<text x="{message_x:.0f}" y="140">{escape(message)}</text></g></svg>"""
    return svg.encode()


def _send(r: Reader, body: bytes, updated: datetime | None) -> Response:
    response = conditional_response(
        r.request, body, media_type="image/svg+xml", last_modified=updated or r.now
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@router.get("/badge.svg")
def page_badge(r: ReaderDep) -> Response:
    """The page's status, e.g. "Zaptec status | All Systems Operational"."""
    indicator, description = component_read.page_status(r.session)
    body = badge_svg(
        _("%(name)s status") % {"name": r.settings.page_name},
        labels.page_status(description),
        INDICATOR_COLOURS[indicator],
    )
    return _send(r, body, page_last_change(r))


@router.get("/components/{component_id}/badge.svg")
def component_badge(component_id: str, r: ReaderDep) -> Response:
    """One component's status, e.g. "OCPP | Partial Outage"."""
    component = components.get_component(r.session, component_id)
    children = [c for c in components.list_components(r.session) if c.group_id == component.id]
    # The shared presenter gives a group the worst status and newest change of its components.
    public = component_present.present_components([component, *children], page_id="")[0]
    colour = INDICATOR_COLOURS[STATUS_INDICATOR[public.status.value]]
    body = badge_svg(component.name, labels.component_status(public.status), colour)
    return _send(r, body, public.updated_at)
