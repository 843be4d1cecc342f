"""Unauthenticated or odd input at the edge: no 500s, no reflected Host, no made-up client
addresses, no validation details before authentication."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.auth import service as auth
from app.db import unit_of_work
from app.models import AuditEvent
from tests.conftest import FakeClock


def test_a_huge_page_number_is_a_422(staff: TestClient) -> None:
    for page in (2**62, 2**63, 10**30):
        answer = staff.get(f"/api/v1/incidents?page={page}")
        assert answer.status_code == 422, answer.text
    assert staff.get("/api/v1/incidents?page=100000").status_code == 200


def test_redirects_never_name_the_host_a_client_sent(client: TestClient) -> None:
    for path in ("/api/v1/incidents/", "/api/v2/summary.json/"):
        answer = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
        assert answer.status_code in (307, 308), path
        assert "evil" not in answer.headers["location"], answer.headers["location"]
        assert answer.headers["location"].startswith("/"), answer.headers["location"]
    page = client.get("/admin/login", headers={"host": "evil.example"})
    assert page.status_code == 200
    assert "evil.example" not in page.text


def test_the_staff_api_authenticates_before_it_reads_the_body(
    client: TestClient, staff: TestClient
) -> None:
    for headers in ({}, {"Authorization": "Bearer phr_not-a-token"}):
        answer = client.post(
            "/api/v1/incidents",
            content=b"{not json",
            headers={"content-type": "application/json", **headers},
        )
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer"
    with_token = staff.post(
        "/api/v1/incidents", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert with_token.status_code == 422


@pytest.fixture
def token(engine: Engine, clock: FakeClock) -> str:
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="proxy-test", now=clock())
    return plain


def client_from(app: FastAPI, peer: str, token: str) -> Iterator[TestClient]:
    with TestClient(app, client=(peer, 40000), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.mark.parametrize(
    ("peer", "forwarded", "recorded"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # behind the local proxy
        ("127.0.0.1", "198.51.100.2, 203.0.113.7", "203.0.113.7"),  # the proxy appended its peer
        ("127.0.0.1", "x" * 200, "127.0.0.1"),  # not an address: the proxy's is kept
        ("127.0.0.1", "203.0.113.7:443", "127.0.0.1"),
        ("127.0.0.1", "<script>", "127.0.0.1"),
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not a trusted proxy: ignored
    ],
)
def test_only_well_formed_forwarded_addresses_from_trusted_proxies_are_believed(
    app: FastAPI, engine: Engine, token: str, peer: str, forwarded: str, recorded: str
) -> None:
    for c in client_from(app, peer, token):
        answer = c.post(
            "/api/v1/components", json={"name": "OCPP"}, headers={"X-Forwarded-For": forwarded}
        )
        assert answer.status_code == 201, answer.text
    with unit_of_work(engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "component.created")
        ).one()
        assert event.ip == recorded


@pytest.mark.parametrize(
    "path", ["/updates.%3F%F0%9C%91%8F", "/history.%3Fx", "/components/%5C%3F%C3%99/history.%3F"]
)
def test_an_encoded_question_mark_in_a_public_path_is_a_404_not_a_500(
    client: TestClient, path: str
) -> None:
    """Found by schemathesis: the render cache's key put the decoded "?" of the path where its
    query begins, and rendering the rest as a query string failed (500)."""
    answer = client.get(path)
    assert answer.status_code == 404, answer.text
