"""A Statuspage page as its management API (v1) describes it, for the importer's tests.

Shapes follow Statuspage's published API reference (the v1 Incident, IncidentUpdate,
Component, GroupComponent, Postmortem, IncidentTemplate, Subscriber and ComponentUptime
models) and real public v2 answers (/work/shared/reference/statuspage-v2-api.md): times with
the page's UTC offset and milliseconds, every update repeating its affected components with
old and new status, groups listing their components.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PAGE_ID = "zaptecpage01"
TZ = ZoneInfo("Europe/Oslo")
NOW = datetime(2025, 9, 20, 12, 0, tzinfo=UTC)
CREATED = datetime(2025, 1, 10, 8, 0, tzinfo=UTC)

GROUP, OCPP, API, WEB, APP = (
    "grpcloud0001",
    "cmpocpp16j01",
    "cmpchgapi001",
    "cmpwebsite01",
    "cmpmobile001",
)
NAMES = {GROUP: "Charging cloud", OCPP: "OCPP 1.6J", API: "Charging API", WEB: "Website"}
NAMES[APP] = "Mobile app"
SHOWN = {OCPP: "Charging cloud - OCPP 1.6J", API: "Charging cloud - Charging API"}
SHOWN |= {WEB: "Website", APP: "Mobile app"}

POSTMORTEM = (
    "## Timeline of Events\r\n\r\n09:14: We received the first report of status updates not "
    "being received from chargers.\r\n09:38: The root cause was identified: two "
    "message-processing instances were stalled.\r\n\r\n# Next Steps and Mitigation\r\n\r\n"
    "Enhanced Alerting: real-time alerts on message processing rates."
)


def ts(value: datetime | None) -> str | None:
    """A time as Statuspage writes it: the page's offset, milliseconds."""
    if value is None:
        return None
    local = value.astimezone(TZ)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + (local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:])
    )


def at(text: str) -> datetime:
    """A UTC time from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def component(cid: str, position: int, **fields: Any) -> dict[str, Any]:
    """A v1 component."""
    return {
        "id": cid,
        "page_id": PAGE_ID,
        "group_id": None,
        "created_at": ts(CREATED),
        "updated_at": ts(CREATED),
        "group": False,
        "name": NAMES[cid],
        "description": None,
        "position": position,
        "status": "operational",
        "showcase": True,
        "only_show_if_degraded": False,
        "automation_email": f"component+{cid}@notifications.statuspage.io",
        "start_date": None,
        **fields,
    }


def update(
    iid: str,
    uid: str,
    status: str,
    body: str,
    shown: datetime,
    changes: list[tuple[str, str, str]],
    written: datetime | None = None,
) -> dict[str, Any]:
    """A v1 incident update; changes are (component, old, new)."""
    return {
        "id": uid,
        "incident_id": iid,
        "status": status,
        "body": body,
        "created_at": ts(written or shown),
        "updated_at": ts(written or shown),
        "display_at": ts(shown),
        "affected_components": [
            {"code": c, "name": SHOWN[c], "old_status": old, "new_status": new}
            for c, old, new in changes
        ],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
        "twitter_updated_at": None,
        "wants_twitter_update": False,
    }


def incident(iid: str, name: str, updates: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A v1 incident; updates oldest first here, listed newest first as Statuspage does."""
    first = min(u["display_at"] for u in updates)
    statuses = [u["status"] for u in updates]
    resolved = [u["display_at"] for u in updates if u["status"] in ("resolved", "completed")]
    monitoring = [u["display_at"] for u in updates if u["status"] == "monitoring"]
    return {
        "id": iid,
        "page_id": PAGE_ID,
        "name": name,
        "status": statuses[-1],
        "impact": "none",
        "impact_override": None,
        "created_at": updates[0]["created_at"],
        "updated_at": updates[-1]["created_at"],
        "started_at": first,
        "monitoring_at": monitoring[0] if monitoring else None,
        "resolved_at": resolved[0] if resolved else None,
        "shortlink": f"https://stspg.io/{iid[:8]}",
        "backfilled": False,
        "postmortem_body": None,
        "postmortem_body_last_updated_at": None,
        "postmortem_ignored": False,
        "postmortem_published_at": None,
        "postmortem_notified_subscribers": False,
        "postmortem_notified_twitter": False,
        "scheduled_for": None,
        "scheduled_until": None,
        "scheduled_remind_prior": False,
        "scheduled_reminded_at": None,
        "scheduled_auto_in_progress": False,
        "scheduled_auto_completed": False,
        "auto_transition_to_maintenance_state": False,
        "auto_transition_to_operational_state": False,
        "auto_transition_deliver_notifications_at_start": False,
        "auto_transition_deliver_notifications_at_end": False,
        "metadata": {},
        "incident_updates": list(reversed(updates)),
        "components": [],
        **fields,
    }


@dataclass
class FakePage:
    """Everything the fake Statuspage serves."""

    page: dict[str, Any]
    groups: list[dict[str, Any]]
    components: list[dict[str, Any]]
    incidents: list[dict[str, Any]]  # newest first, maintenances included
    postmortems: dict[str, dict[str, Any]]
    templates: list[dict[str, Any]]
    subscribers: dict[str, list[dict[str, Any]]]  # by state
    uptime: dict[str, dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)

    def find(self, iid: str) -> dict[str, Any]:
        """One incident by id."""
        return next(i for i in self.incidents if i["id"] == iid)


def _uptime(cid: str, major: int, partial: int) -> dict[str, Any]:
    first = (NOW.astimezone(TZ).date()) - timedelta(days=89)
    total = 90 * 86400
    return {
        "id": cid,
        "name": NAMES[cid],
        "range_start": first.isoformat(),
        "range_end": NOW.astimezone(TZ).date().isoformat(),
        "uptime_percentage": round(100 * (1 - (major + 0.3 * partial) / total), 4),
        "major_outage": major,
        "partial_outage": partial,
        "warnings": None,
        "related_events": [],
    }


def build_page() -> FakePage:
    """The page: a group of two components, two more, incidents, maintenances and the rest."""
    op, deg, part, major, maint = (
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    )
    components = [
        component(
            GROUP,
            1,
            group=True,
            showcase=False,
            components=[OCPP, API],
            status=deg,
            updated_at=ts(NOW - timedelta(hours=2)),
        ),
        component(OCPP, 1, group_id=GROUP),
        component(API, 2, group_id=GROUP, status=deg, updated_at=ts(NOW - timedelta(hours=2))),
        component(WEB, 2, description="zaptec.com", showcase=False, only_show_if_degraded=True),
        component(
            APP, 3, status=deg, updated_at=ts(NOW - timedelta(hours=3)), start_date="2025-01-10"
        ),
    ]
    groups = [
        {
            "id": GROUP,
            "page_id": PAGE_ID,
            "name": NAMES[GROUP],
            "description": None,
            "components": [OCPP, API],
            "position": 1,
            "created_at": ts(CREATED),
            "updated_at": ts(CREATED),
        }
    ]
    small = [
        incident(
            f"incsmall000{n}",
            f"Slow dashboard {n}",
            [
                update(
                    f"incsmall000{n}",
                    f"updsmall00{n}a",
                    "investigating",
                    "Looking.",
                    at(f"2025-05-0{n} 10:00"),
                    [],
                ),
                update(
                    f"incsmall000{n}",
                    f"updsmall00{n}b",
                    "resolved",
                    "Fine again.",
                    at(f"2025-05-0{n} 10:30"),
                    [],
                ),
            ],
        )
        for n in range(1, 7)
    ]
    backdated = incident(
        "inc4backdate",
        "Charging API errors",
        [
            update(
                "inc4backdate",
                "upd4a0000001",
                "investigating",
                "Errors on session start.",
                at("2025-07-15 08:00"),
                [(API, op, part)],
                written=at("2025-07-15 08:30"),
            ),
            update(
                "inc4backdate",
                "upd4b0000001",
                "resolved",
                "Resolved.",
                at("2025-07-15 09:00"),
                [(API, part, op)],
            ),
        ],
        impact="major",
        postmortem_body_last_updated_at=ts(at("2025-07-16 10:00")),
    )
    outage = incident(
        "inc2overlap1",
        "Charging API unavailable",
        [
            update(
                "inc2overlap1",
                "upd2a0000001",
                "investigating",
                "The API answers 503.",
                at("2025-08-20 10:00"),
                [(API, op, major)],
            ),
            update(
                "inc2overlap1",
                "upd2b0000001",
                "identified",
                "A bad deploy; rolling back.",
                at("2025-08-20 10:20"),
                [(API, major, major)],
            ),
            update(
                "inc2overlap1",
                "upd2c0000001",
                "resolved",
                "Rolled back; all good.",
                at("2025-08-20 10:42"),
                [(API, major, op)],
            ),
        ],
        impact="critical",
    )
    overlap = incident(
        "inc3overlap2",
        "Slow status updates",
        [
            update(
                "inc3overlap2",
                "upd3a0000001",
                "investigating",
                "Status updates lag.",
                at("2025-08-20 10:10"),
                [(OCPP, op, deg)],
            ),
            update(
                "inc3overlap2",
                "upd3b0000001",
                "monitoring",
                "Caught up.",
                at("2025-08-20 10:50"),
                [(OCPP, deg, op)],
            ),
            update(
                "inc3overlap2",
                "upd3c0000001",
                "resolved",
                "Resolved.",
                at("2025-08-20 11:00"),
                [(OCPP, op, op)],
            ),
        ],
        impact="minor",
    )
    maintenance = incident(
        "mnt1done0001",
        "OCPP broker upgrade",
        [
            update(
                "mnt1done0001",
                "updm1a000001",
                "scheduled",
                "Chargers may reconnect once.",
                at("2025-08-25 09:00"),
                [(OCPP, op, op)],
            ),
            update(
                "mnt1done0001",
                "updm1b000001",
                "in_progress",
                "Started.",
                at("2025-08-30 22:00"),
                [(OCPP, op, maint)],
            ),
            update(
                "mnt1done0001",
                "updm1c000001",
                "completed",
                "Completed.",
                at("2025-08-31 00:00"),
                [(OCPP, maint, op)],
            ),
        ],
        impact="maintenance",
        scheduled_for=ts(at("2025-08-30 22:00")),
        scheduled_until=ts(at("2025-08-31 00:00")),
        scheduled_auto_in_progress=True,
        scheduled_auto_completed=True,
        auto_transition_to_maintenance_state=True,
        auto_transition_to_operational_state=True,
        scheduled_remind_prior=True,
        scheduled_reminded_at=ts(at("2025-08-30 21:00")),
    )
    seed = incident(
        "inc0seed0001",
        "Delays in processing charging events",
        [
            update(
                "inc0seed0001",
                "upd0a0000001",
                "investigating",
                "We've received reports of delays starting and stopping charge sessions. "
                "We are investigating.",
                at("2025-09-07 09:12"),
                [(OCPP, op, part)],
            ),
            update(
                "inc0seed0001",
                "upd0b0000001",
                "monitoring",
                "We are no longer receiving reports of the issue.\n\nWe will continue to "
                "monitor for one hour.",
                at("2025-09-07 09:35"),
                [(OCPP, part, op)],
            ),
            update(
                "inc0seed0001",
                "upd0c0000001",
                "resolved",
                "This incident has been resolved.",
                at("2025-09-07 10:39"),
                [(OCPP, op, op)],
            ),
        ],
        impact="major",
        status="postmortem",
        started_at=ts(at("2025-09-07 07:14")),
        postmortem_body=POSTMORTEM,
        postmortem_body_last_updated_at=ts(at("2025-09-08 11:50")),
        postmortem_published_at=ts(at("2025-09-08 11:56")),
        postmortem_notified_subscribers=True,
        updated_at=ts(at("2025-09-08 11:56")),
    )
    open_now = incident(
        "inc5open0001",
        "Slow charging API",
        [
            update(
                "inc5open0001",
                "upd5a0000001",
                "investigating",
                "Requests are slow.",
                NOW - timedelta(hours=2),
                [(API, op, deg)],
            ),
            update(
                "inc5open0001",
                "upd5b0000001",
                "identified",
                "A slow database replica.",
                NOW - timedelta(hours=1),
                [(API, deg, deg)],
            ),
        ],
        impact="minor",
    )
    upcoming = incident(
        "mnt2future01",
        "Charging API database upgrade",
        [
            update(
                "mnt2future01",
                "updm2a000001",
                "scheduled",
                "Short interruptions possible.",
                NOW - timedelta(days=2),
                [(API, op, op)],
            ),
        ],
        impact="maintenance",
        scheduled_for=ts(at("2025-09-27 00:00")),
        scheduled_until=ts(at("2025-09-27 02:00")),
        scheduled_auto_in_progress=True,
        scheduled_auto_completed=True,
        auto_transition_to_maintenance_state=True,
        auto_transition_to_operational_state=True,
        scheduled_remind_prior=True,
    )
    everything = [*small, backdated, outage, overlap, maintenance, seed, open_now, upcoming]
    everything.sort(key=lambda i: i["created_at"], reverse=True)
    for item in everything:
        ids = {a["code"] for u in item["incident_updates"] for a in u["affected_components"]}
        item["components"] = [c for c in components if c["id"] in ids]
    return FakePage(
        page={
            "id": PAGE_ID,
            "name": "Zaptec",
            "time_zone": "Europe/Oslo",
            "url": "https://zaptec.com",
            "created_at": ts(CREATED),
            "updated_at": ts(NOW),
            "subdomain": "zaptec",
        },
        groups=groups,
        components=components,
        incidents=everything,
        postmortems={
            "inc0seed0001": {
                "preview_key": "k1",
                "body": POSTMORTEM,
                "body_updated_at": ts(at("2025-09-08 11:50")),
                "body_draft": POSTMORTEM,
                "body_draft_updated_at": ts(at("2025-09-08 11:50")),
                "published_at": ts(at("2025-09-08 11:56")),
                "notify_subscribers": True,
                "notify_twitter": False,
                "custom_tweet": None,
                "created_at": ts(at("2025-09-08 10:00")),
                "updated_at": ts(at("2025-09-08 11:56")),
            },
            "inc4backdate": {
                "preview_key": "k2",
                "body": None,
                "body_updated_at": None,
                "body_draft": "## What happened\r\n\r\nA draft, not published.",
                "body_draft_updated_at": ts(at("2025-07-16 10:00")),
                "published_at": None,
                "created_at": ts(at("2025-07-16 10:00")),
                "updated_at": ts(at("2025-07-16 10:00")),
            },
        },
        templates=[
            {
                "id": "tplapi000001",
                "name": "API down",
                "title": "Charging API unavailable",
                "body": "We are investigating errors from the charging API.",
                "group_id": None,
                "update_status": "investigating",
                "should_tweet": False,
                "should_send_notifications": True,
                "components": [{**component(API, 2, group_id=GROUP), "status": major}],
            },
            {
                "id": "tplmaint0001",
                "name": "Broker upgrade",
                "title": "Broker upgrade",
                "body": "Planned work.",
                "group_id": None,
                "update_status": "scheduled",
                "should_tweet": False,
                "should_send_notifications": True,
                "components": [],
            },
        ],
        subscribers={
            "active": [
                {
                    "id": "subhook00001",
                    "mode": "webhook",
                    "email": "ops@example.com",
                    "endpoint": "http://127.0.0.1:9/statuspage-hook",
                    "components": [OCPP],
                    "created_at": ts(CREATED),
                    "quarantined_at": None,
                    "purge_at": None,
                    "skip_confirmation_notification": False,
                },
                {
                    "id": "submail00001",
                    "mode": "email",
                    "email": "driver@example.com",
                    "endpoint": None,
                    "components": [],
                    "created_at": ts(CREATED),
                    "quarantined_at": None,
                },
                {
                    "id": "subsms000001",
                    "mode": "sms",
                    "email": None,
                    "phone_number": "+4799999999",
                    "phone_country": "NO",
                    "components": [],
                    "created_at": ts(CREATED),
                },
                {
                    "id": "subslack0001",
                    "mode": "slack",
                    "workspace_name": "zaptec",
                    "obfuscated_channel_name": "#st***",
                    "components": [],
                    "created_at": ts(CREATED),
                },
            ],
            "quarantined": [
                {
                    "id": "subhook00002",
                    "mode": "webhook",
                    "email": None,
                    "endpoint": "http://127.0.0.1:9/flaky",
                    "components": None,
                    "created_at": ts(CREATED),
                    "quarantined_at": ts(NOW - timedelta(days=1)),
                    "purge_at": ts(NOW + timedelta(days=89)),
                },
            ],
        },
        uptime={
            OCPP: _uptime(OCPP, 0, 23 * 60),
            API: _uptime(API, 42 * 60, 60 * 60),
            APP: _uptime(APP, 0, 0),
        },
    )
