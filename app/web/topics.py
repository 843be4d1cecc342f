"""Which topics of public data each public answer shows (app.data_version.TOPICS).

The render cache keeps an answer through a change of topics it does not show: its bytes would
come out the same. A component's status changes far more often than anything else (probes, the
charger fleet), and the incident history shows none: its pages are kept until an incident, a
component's name or group, or anything else (``OTHER``: the brand, settings) changes.

Only answers named here are kept so; every other answer is treated as showing everything.
Name an answer only when it shows nothing of the topics left out -- no component status, no
uptime figure, no charger count, and no "last changed" time, which a status change moves
(Last-Modified, a page's updated_at). tests/web/test_topics.py renders every answer named
here after each kind of change and checks the kept bytes against a fresh render.
"""

from __future__ import annotations

import re

from app.data_version import COMPONENTS, INCIDENTS, OTHER

# An incident's report and the history list: incidents, their updates and what they affected
# (by the components' current names and groups); no status, no uptime, no Last-Modified.
INCIDENT_PAGES = frozenset({INCIDENTS, COMPONENTS, OTHER})

_SHOWN: list[tuple[re.Pattern[str], frozenset[str]]] = [
    (re.compile(r"/history/(?:\d+/|\d{4}-\d{2}/)?"), INCIDENT_PAGES),
    (re.compile(r"/(?:incidents|maintenance)/[^/]+/"), INCIDENT_PAGES),
]


def shown_by(path: str) -> frozenset[str] | None:
    """The topics the answer at this path (without a language prefix) shows; None: any."""
    for pattern, topics in _SHOWN:
        if pattern.fullmatch(path):
            return topics
    return None
