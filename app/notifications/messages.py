"""What a person reads about one event, built from the payload the domain handed over.

Email and chat messages are made from this one view, so every channel says the same words as
the incident page: the status as the page writes it, the latest update, its time in the page's
time zone, the affected components and a link. Only incident.* and maintenance.* events go to
people; component changes are told inside the incident they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from app import labels, timefmt
from app.i18n import gettext

# The one message an email address gets before it is confirmed.
CONFIRMATION = "subscription.confirmation"

# Event types people hear about (component.status_changed goes to webhooks only).
FOR_PEOPLE = frozenset(
    {
        "incident.created",
        "incident.updated",
        "incident.resolved",
        "incident.postmortem_published",
        "maintenance.scheduled",
        "maintenance.reminder",
        "maintenance.started",
        "maintenance.updated",
        "maintenance.completed",
    }
)

# Colours by status, then impact: red while it hurts, amber for milder, blue for maintenance,
# green once it is over.
GREEN, AMBER, ORANGE, RED, BLUE, GREY = (
    "#2e7d32",
    "#f9a825",
    "#ef6c00",
    "#c62828",
    "#1565c0",
    "#616161",
)
IMPACT_COLOUR = {"none": GREY, "minor": AMBER, "major": ORANGE, "critical": RED}
DONE = {"resolved", "postmortem", "completed"}
MAINTENANCE = {"scheduled", "in_progress", "verifying"}


@dataclass(frozen=True)
class UpdateView:
    """One timeline update, as the incident page shows it."""

    status: str  # "Monitoring"
    body: str  # Markdown, as posted
    posted: str  # "Sep 07, 2025 - 11:12 CEST"


@dataclass(frozen=True)
class ComponentView:
    """An affected component and its status after the update."""

    name: str
    status: str  # "Partial Outage"


@dataclass(frozen=True)
class EventView:
    """Everything a message about one incident event says."""

    event_type: str
    incident_id: str
    page_name: str
    title: str  # the incident's name
    status: str  # the incident's status as people read it
    colour: str
    url: str
    latest: UpdateView | None
    earlier: list[UpdateView]
    components: list[ComponentView]
    window: str | None  # maintenance: "Sep 10, 2025 02:00 - 04:00 CEST"
    postmortem: str | None  # Markdown, when published
    chargers: str | None = None  # structured impact: "12 of 80 chargers affected"

    @property
    def subject(self) -> str:
        """`[Zaptec Status] Delays in processing charging events - Monitoring` (in the
        language at hand, like every word here: the view is built and read within one)."""
        what = self.status
        if self.event_type == "incident.postmortem_published":
            what = labels.incident_status("postmortem")
        if self.event_type == "maintenance.reminder":
            what = gettext("Reminder: %(status)s") % {"status": self.status}
        return f"[{page_status(self.page_name)}] {self.title} - {what}"

    @property
    def heading(self) -> str:
        """The first line: "Monitoring" or "Postmortem published"."""
        if self.event_type == "incident.postmortem_published":
            return gettext("Postmortem published")
        if self.event_type == "maintenance.reminder":
            return gettext("Reminder: scheduled maintenance %(window)s") % {
                "window": self.window or ""
            }
        return self.status


def page_status(page_name: str) -> str:
    """The sender's name: "Zaptec Status"."""
    return gettext("%(page)s Status") % {"page": page_name}


def _when(value: str | None, tz: tzinfo) -> str:
    if not value:
        return ""
    return timefmt.posted(datetime.fromisoformat(value.replace("Z", "+00:00")), tz)


def _update(update: dict[str, Any], tz: tzinfo) -> UpdateView:
    return UpdateView(
        status=labels.incident_status(update["status"]),
        body=str(update.get("body") or ""),
        posted=_when(update.get("display_at") or update.get("created_at"), tz),
    )


def colour_of(status: str, impact: str) -> str:
    """The message's accent colour."""
    if status in DONE:
        return GREEN
    if status in MAINTENANCE:
        return BLUE
    return IMPACT_COLOUR.get(impact, AMBER)


def event_view(
    event_type: str, payload: dict[str, Any], *, page_name: str, tz: tzinfo
) -> EventView | None:
    """The view of an incident or maintenance event; None for events not meant for people."""
    if event_type not in FOR_PEOPLE or "incident" not in payload:
        return None
    incident: dict[str, Any] = payload["incident"]
    updates: list[dict[str, Any]] = list(incident.get("incident_updates") or [])
    latest = updates[0] if updates else None
    affected = (latest or {}).get("affected_components") or []
    if affected:
        components = [
            ComponentView(name=str(a["name"]), status=labels.component_status(a["new_status"]))
            for a in affected
        ]
    else:
        components = [
            ComponentView(name=str(c["name"]), status=labels.component_status(c["status"]))
            for c in incident.get("components") or []
            if not c.get("group")
        ]
    window = None
    if incident.get("scheduled_for") and incident.get("scheduled_until"):
        window = timefmt.window(
            datetime.fromisoformat(str(incident["scheduled_for"]).replace("Z", "+00:00")),
            datetime.fromisoformat(str(incident["scheduled_until"]).replace("Z", "+00:00")),
            tz,
        )
    published = event_type == "incident.postmortem_published"
    return EventView(
        event_type=event_type,
        incident_id=str(incident["id"]),
        page_name=page_name,
        title=str(incident["name"]),
        status=labels.incident_status(incident["status"]),
        colour=colour_of(str(incident["status"]), str(incident.get("impact") or "none")),
        url=str(incident.get("shortlink") or ""),
        latest=_update(latest, tz) if latest else None,
        earlier=[_update(u, tz) for u in updates[1:]],
        components=components,
        window=window,
        postmortem=str(incident.get("postmortem_body") or "") if published else None,
        chargers=_chargers(incident.get("chargers")),
    )


def _chargers(impact: Any) -> str | None:
    """The incident's impact in chargers, when the payload carries one."""
    if isinstance(impact, dict) and isinstance(impact.get("text"), str):
        return str(impact["text"])
    return None
