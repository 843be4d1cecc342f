"""Presentation words in one place: how statuses read on pages, in the admin UI, in feeds,
badges and messages. (Statuspage's API strings, like "Partial System Outage", are data and live
with the components domain.)"""

from __future__ import annotations

from app.models import ComponentStatus, IncidentStatus

COMPONENT_STATUS: dict[ComponentStatus, str] = {
    ComponentStatus.operational: "Operational",
    ComponentStatus.under_maintenance: "Under Maintenance",
    ComponentStatus.degraded_performance: "Degraded Performance",
    ComponentStatus.partial_outage: "Partial Outage",
    ComponentStatus.major_outage: "Major Outage",
}

# Within a sentence: "1 h 5 min major outage", "Chargers see a partial outage".
COMPONENT_STATUS_PHRASE: dict[ComponentStatus, str] = {
    ComponentStatus.operational: "no downtime",
    ComponentStatus.under_maintenance: "maintenance",
    ComponentStatus.degraded_performance: "degraded performance",
    ComponentStatus.partial_outage: "partial outage",
    ComponentStatus.major_outage: "major outage",
}

INCIDENT_STATUS: dict[IncidentStatus, str] = {
    IncidentStatus.investigating: "Investigating",
    IncidentStatus.identified: "Identified",
    IncidentStatus.monitoring: "Monitoring",
    IncidentStatus.resolved: "Resolved",
    IncidentStatus.postmortem: "Postmortem",
    IncidentStatus.scheduled: "Scheduled",
    IncidentStatus.in_progress: "In progress",
    IncidentStatus.verifying: "Verifying",
    IncidentStatus.completed: "Completed",
}


def component_status(status: ComponentStatus | str) -> str:
    """A component status as people read it, e.g. "Partial Outage"."""
    return COMPONENT_STATUS[ComponentStatus(status)]


def incident_status(status: IncidentStatus | str) -> str:
    """An incident or maintenance status as people read it, e.g. "Monitoring"."""
    return INCIDENT_STATUS[IncidentStatus(status)]
