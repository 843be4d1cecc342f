"""Roles: viewers read, editors post, admins manage users and tokens; token scopes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.models import AuditEvent, Incident, UserRole
from tests.admin.conftest import SignIn, post_form, soup

OPEN = {"name": "Delays", "status": "investigating", "body": "Looking.", "notify": "on"}


@pytest.mark.parametrize(
    ("role", "pages", "forbidden"),
    [
        (UserRole.viewer, ["/admin/", "/admin/incidents", "/admin/audit"], ["/admin/users"]),
        (UserRole.editor, ["/admin/incidents/new", "/admin/components/new"], ["/admin/tokens"]),
        (UserRole.admin, ["/admin/users", "/admin/tokens", "/admin/maintenance/new"], []),
    ],
)
def test_pages_by_role(
    signed_in: SignIn, role: UserRole, pages: list[str], forbidden: list[str]
) -> None:
    client = signed_in(role)
    for path in pages:
        assert client.get(path).status_code == 200, path
    for path in forbidden:
        response = client.get(path)
        assert response.status_code == 403 and "needs the admin role" in response.text


def test_viewer_reads_but_cannot_post(signed_in: SignIn, engine: Engine) -> None:
    viewer = signed_in(UserRole.viewer)
    assert viewer.get("/admin/incidents/new").status_code == 403
    response = post_form(viewer, "/admin/incidents/new", OPEN)
    assert response.status_code == 403
    with unit_of_work(engine) as session:
        assert session.exec(select(Incident)).all() == []
    nav = soup(viewer.get("/admin/")).get_text()
    assert "Open an incident" not in nav and "Users" not in nav


def test_editor_posts_and_the_audit_log_says_who_and_from_where(
    signed_in: SignIn, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor, email="ed@example.com")
    response = post_form(editor, "/admin/incidents/new", OPEN, follow_redirects=False)
    assert response.status_code == 303
    with unit_of_work(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.opened")).one()
    assert event.actor == "user:ed@example.com"
    assert event.ip == "testclient"  # the request's client address
    log = soup(signed_in(UserRole.viewer).get("/admin/audit?actor=ed%40"))
    row = log.find("td", string="incident.opened")
    assert row is not None and "testclient" in row.find_parent("tr").get_text()  # type: ignore[union-attr]


def test_editor_cannot_manage_tokens_or_users(signed_in: SignIn) -> None:
    editor = signed_in(UserRole.editor)
    assert post_form(editor, "/admin/tokens", {"name": "x", "scope": "write"}).status_code == 403
    data = {"email": "x@example.com", "role": "admin"}
    assert post_form(editor, "/admin/users", data).status_code == 403


def test_read_scoped_token_only_reads(signed_in: SignIn, client: TestClient) -> None:
    admin = signed_in(UserRole.admin)
    page = soup(post_form(admin, "/admin/tokens", {"name": "dashboard", "scope": "read"}))
    token = page.find("input", id="new-token")["value"]  # type: ignore[index]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/components", headers=auth).status_code == 200
    refused = client.post("/api/v1/components", json={"name": "x"}, headers=auth)
    assert refused.status_code == 403 and "scope" in refused.json()["detail"]
