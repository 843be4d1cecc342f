"""Presentation words in one place: how statuses read on pages, in the admin UI, in feeds,
badges and messages. (Statuspage's API strings, like "Partial System Outage", are data and live
with the components domain.)

The words are English msgids marked for extraction (`N_`); `component_status` and
`incident_status` give them in the current language (app.i18n).
"""

from __future__ import annotations

from app.i18n import N_, gettext
from app.models import ComponentStatus, IncidentStatus

COMPONENT_STATUS: dict[ComponentStatus, str] = {
    ComponentStatus.operational: N_("Operational"),
    ComponentStatus.under_maintenance: N_("Under Maintenance"),
    ComponentStatus.degraded_performance: N_("Degraded Performance"),
    ComponentStatus.partial_outage: N_("Partial Outage"),
    ComponentStatus.major_outage: N_("Major Outage"),
}

# Within a sentence: "1 h 5 min major outage", "Chargers see a partial outage".
COMPONENT_STATUS_PHRASE: dict[ComponentStatus, str] = {
    ComponentStatus.operational: N_("no downtime"),
    ComponentStatus.under_maintenance: N_("maintenance"),
    ComponentStatus.degraded_performance: N_("degraded performance"),
    ComponentStatus.partial_outage: N_("partial outage"),
    ComponentStatus.major_outage: N_("major outage"),
}

INCIDENT_STATUS: dict[IncidentStatus, str] = {
    IncidentStatus.investigating: N_("Investigating"),
    IncidentStatus.identified: N_("Identified"),
    IncidentStatus.monitoring: N_("Monitoring"),
    IncidentStatus.resolved: N_("Resolved"),
    IncidentStatus.postmortem: N_("Postmortem"),
    IncidentStatus.scheduled: N_("Scheduled"),
    IncidentStatus.in_progress: N_("In progress"),
    IncidentStatus.verifying: N_("Verifying"),
    IncidentStatus.completed: N_("Completed"),
}


def component_status(status: ComponentStatus | str) -> str:
    """A component status as people read it, e.g. "Partial Outage"."""
    return gettext(COMPONENT_STATUS[ComponentStatus(status)])


def component_status_phrase(status: ComponentStatus | str) -> str:
    """A component status within a sentence, e.g. "partial outage"."""
    return gettext(COMPONENT_STATUS_PHRASE[ComponentStatus(status)])


def incident_status(status: IncidentStatus | str) -> str:
    """An incident or maintenance status as people read it, e.g. "Monitoring"."""
    return gettext(INCIDENT_STATUS[IncidentStatus(status)])


# The page's overall status as Statuspage words it (the v2 JSON keeps these in English).
PAGE_STATUS = (
    N_("All Systems Operational"),
    N_("Major System Outage"),
    N_("Partial System Outage"),
    N_("Minor Service Outage"),
    N_("Degraded System Service"),
    N_("Partially Degraded Service"),
    N_("Service Under Maintenance"),
)


def page_status(description: str) -> str:
    """The page's overall status (Statuspage's wording) in the current language."""
    return gettext(description)
