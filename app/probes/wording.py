"""What automatic incidents say to customers: plain words, no probe jargon."""

from __future__ import annotations

from app import labels
from app.models import ComponentStatus

# problem -> (incident name, first update body)
OPENING: dict[str, tuple[str, str]] = {
    "down": (
        "{component} unavailable",
        "Chargers can't reach {component} at the moment, so charging sessions may not start "
        "and charger status may be out of date. We are investigating.",
    ),
    "stalled": (
        "Delays processing charger status updates",
        "Chargers are connected and their messages are accepted, but {component} is not "
        "processing them in time. Charging sessions and status changes may show up late. "
        "We are investigating.",
    ),
    "slow": (
        "Slow responses from {component}",
        "{component} is responding more slowly than usual. Charging works, but starting a "
        "session may take longer. We are investigating.",
    ),
}


def impact_words(status: ComponentStatus) -> str:
    """A status within a sentence: "degraded performance", "a partial outage"."""
    phrase = labels.COMPONENT_STATUS_PHRASE[status]
    return f"a {phrase}" if phrase.endswith("outage") else phrase


def fill(template: str, *, component: str, probe: str) -> str:
    """Put the component's and probe's names into a template ({component}, {probe})."""
    return template.replace("{component}", component).replace("{probe}", probe)


def opening(
    problem: str | None, *, component: str, probe: str, name: str | None, body: str | None
) -> tuple[str, str]:
    """Name and first body of a new incident; a probe's own templates win."""
    default_name, default_body = OPENING.get(problem or "down", OPENING["down"])
    return (
        fill(name or default_name, component=component, probe=probe),
        fill(body or default_body, component=component, probe=probe),
    )


def joined(component: str, status: ComponentStatus) -> str:
    """A second component of the same backend is affected."""
    return f"{component} is affected as well ({impact_words(status)}). We are investigating."


def relapsed(component: str) -> str:
    """The problem came back while we were monitoring."""
    return f"The problem with {component} has returned. We are investigating."


def severity_changed(component: str, status: ComponentStatus) -> str:
    """The impact got better or worse while the incident is open."""
    return f"The impact on {component} has changed: it now has {impact_words(status)}."


def partly_recovered(component: str) -> str:
    """One of several affected components works again."""
    return f"{component} is working normally again. We are still working on the rest."


MONITORING = "Everything is working normally again. We are monitoring the results."
RESOLVED = "This incident has been resolved: everything has kept working normally since."
