"""Running a probe now holds no transaction while the probe waits on the network: other
writers go through meanwhile (on SQLite and PostgreSQL; the admin UI's in
tests/admin/test_probes_admin.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock
from tests.probes.helpers import run_beside_a_write, slow_endpoint


@pytest.fixture
def probed(staff: TestClient) -> Iterator[str]:
    """A managed http probe `api` of an endpoint that is slow to answer."""
    with slow_endpoint() as url:
        probe = {"name": "api", "kind": "http", "component": "Charging API", "url": url}
        assert staff.post("/api/v1/probes", json=probe).status_code == 201
        yield "api"


def test_a_probe_run_now_from_the_api_holds_up_no_other_writer(
    staff: TestClient, probed: str, clock: FakeClock
) -> None:
    """Before, the token check opened the request's write transaction and the run happened
    inside it: on SQLite every writer waited for the probed endpoint; on PostgreSQL the token's
    row stayed locked from a later request noting its own use."""
    ran, took = run_beside_a_write(
        lambda: staff.post(f"/api/v1/probes/{probed}/run"),
        lambda: staff.post("/api/v1/components", json={"name": "OCPP"}),
        clock,
    )
    assert ran.status_code == 200, ran.text
    assert ran.json()["recorded"] is True
    # It did wait for the endpoint: 2 s is the probe's default "slow".
    assert ran.json()["result"]["status"] == "degraded_performance"
    assert took < 1.0, f"a staff write waited {took:.1f} s for a probe run now"
    assert len(staff.get(f"/api/v1/probes/{probed}").json()["recent_results"]) == 1
