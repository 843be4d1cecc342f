"""A Statuspage client someone else wrote reads a real `pharos serve` on loopback.

The client is PyPI's DiscordStatus (a wrapper of a Statuspage page's public /api/v2: summary,
status, components, incidents, unresolved, scheduled maintenances, upcoming, active), pointed at
Pharos instead of discordstatus.com. Its answers are then read as clients of Statuspage pages
read them: every time with `%Y-%m-%dT%H:%M:%S.%f%z`, which breaks on a time without its
fraction. The page has an upcoming and an active maintenance, the case that broke.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from discordstatus import DiscordStatus

from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop
from tests.test_timefmt import times

READS = (
    "summary",
    "status",
    "components",
    "unresolved_incidents",
    "all_incidents",
    "upcoming_maintenances",
    "active_maintenances",
    "all_maintenances",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = pharos_env(tmp_path / "pharos.db", "http://status.test", log_level="warning")
    running = start(env, free_port(), tmp_path)
    yield running
    stop(running.process)


def _seed(server: Server) -> None:
    """Components, an open incident, a resolved one, an upcoming and an active maintenance."""
    token = create_token(server.env)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as staff:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = staff.post(path, json=body)
            assert response.status_code == 201, response.text
            result: dict[str, Any] = response.json()
            return result

        group = post("/api/v1/components", {"name": "Cloud", "group": True})
        ocpp = post("/api/v1/components", {"name": "OCPP", "group_id": group["id"]})
        portal = post("/api/v1/components", {"name": "Portal"})
        # On whole seconds, as staff type them: no fraction to fall back on.
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        post(
            "/api/v1/incidents",
            {
                "name": "Chargers offline",
                "body": "Investigating.",
                "components": {ocpp["id"]: "major_outage"},
                "started_at": (hour - timedelta(hours=1)).isoformat(),
                "display_at": (hour - timedelta(minutes=30)).isoformat(),
            },
        )
        post(
            "/api/v1/incidents",
            {
                "name": "Last week",
                "body": "Fixed.",
                "status": "resolved",
                "backfilled": True,
                "display_at": (hour - timedelta(days=7)).isoformat(),
            },
        )
        for name, start_at in (("Upcoming", hour + timedelta(days=2)), ("Active", hour)):
            window = {
                "scheduled_for": start_at.isoformat(),
                "scheduled_until": (start_at + timedelta(days=1)).isoformat(),
            }
            m = post(
                "/api/v1/maintenances",
                {
                    "name": name,
                    "body": "Upgrade.",
                    "component_ids": [portal["id"]],
                    **window,
                    "scheduled_auto_in_progress": False,
                },
            )
            if name == "Active":
                update = {"status": "in_progress", "body": "Started."}
                post(f"/api/v1/maintenances/{m['id']}/updates", update)


def test_a_statuspage_client_reads_every_endpoint_of_a_page_with_maintenance(
    server: Server,
) -> None:
    _seed(server)
    client = DiscordStatus()
    client.base_target = f"{server.url}/api/v2"
    answers = {name: getattr(client, name) for name in READS}

    assert answers["status"]["status"]["indicator"] == "critical"
    (upcoming,) = answers["upcoming_maintenances"]["scheduled_maintenances"]
    (active,) = answers["active_maintenances"]["scheduled_maintenances"]
    assert (upcoming["name"], upcoming["status"]) == ("Upcoming", "scheduled")
    assert (active["name"], active["status"]) == ("Active", "in_progress")
    assert {m["name"] for m in answers["summary"]["scheduled_maintenances"]} == {
        "Upcoming",
        "Active",
    }
    assert len(answers["all_maintenances"]["scheduled_maintenances"]) == 2
    assert len(answers["all_incidents"]["incidents"]) == 2
    assert len(answers["unresolved_incidents"]["incidents"]) == 1
    assert {c["name"] for c in answers["components"]["components"]} == {"Cloud", "OCPP", "Portal"}
    parsed = 0
    for name, body in answers.items():
        assert body["page"]["time_zone"] == "Europe/Oslo", name
        for _, value in times(body):
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
            parsed += 1
    assert parsed > 50
