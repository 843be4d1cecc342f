"""Two `pharos serve` replicas on one database: a write through one is served by the other."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two servers, each with its own render cache, sharing the database."""
    env = pharos_env(
        tmp_path / "unused.db", "http://status.test", run_workers="false", log_level="warning"
    )
    env["PHAROS_DATABASE_URL"] = database_url
    a = start(env, free_port(), tmp_path, name="a")
    try:
        b = start(env, free_port(), tmp_path, name="b")
    except BaseException:
        stop(a.process)
        raise
    yield a, b
    stop(a.process)
    stop(b.process)


def test_an_update_posted_to_one_replica_is_served_by_the_other_within_a_second(
    replicas: tuple[Server, Server],
) -> None:
    a, b = replicas
    token = create_token(a.env)
    staff = httpx.Client(base_url=a.url, headers={"Authorization": f"Bearer {token}"})
    component = staff.post("/api/v1/components", json={"name": "Cloud Services (OCPP)"}).json()
    with httpx.Client(base_url=b.url) as reader:
        # b has the page cached and serves it from memory
        reader.get("/api/v2/summary.json")
        cached = reader.get("/api/v2/summary.json")
        assert cached.headers["x-pharos-cache"] == "hit"
        assert cached.json()["incidents"] == []

        posted = staff.post(
            "/api/v1/incidents",
            json={
                "name": "Delays processing charger status updates",
                "body": "We are investigating.",
                "components": {component["id"]: "major_outage"},
            },
        )
        assert posted.status_code == 201, posted.text
        written = time.monotonic()
        while True:
            summary = reader.get("/api/v2/summary.json")
            seen = time.monotonic() - written
            if summary.json()["incidents"]:
                break
            assert seen < 1.0, "replica b still serves the old bytes after 1 s"
            time.sleep(0.02)
        assert summary.json()["incidents"][0]["name"] == "Delays processing charger status updates"
        assert summary.json()["components"][0]["status"] == "major_outage"
        # the new bytes are cached again, and the HTML page moved with them
        assert reader.get("/api/v2/summary.json").headers["x-pharos-cache"] == "hit"
        assert "Delays processing charger status updates" in reader.get("/").text
    staff.close()
