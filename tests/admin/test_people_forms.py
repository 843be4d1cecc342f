"""Subscribers (quarantined first, reactivate, delivery log, redeliver), tokens, users, audit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.models import ApiToken, Delivery, DeliveryStatus, User, UserRole
from tests.admin.conftest import PASSWORD, SignIn, field_error, post_form, sign_in, soup
from tests.conftest import open_incident


def _subscribe(staff: TestClient, url: str) -> dict[str, Any]:
    response = staff.post("/api/v1/subscribers", json={"url": url})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_subscribers_quarantined_first_reactivate_and_redeliver(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    _subscribe(staff, "https://93.184.216.34/fine")
    bad = _subscribe(staff, "https://93.184.216.35/broken")
    open_incident(staff)  # one delivery for each subscriber
    staff.post(f"/api/v1/subscribers/{bad['id']}/quarantine")
    with unit_of_work(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.subscriber_id == bad["id"])).one()
        delivery.status, delivery.attempts = DeliveryStatus.failed, 8
        session.add(delivery)
        session.commit()
        delivery_id = delivery.id
    viewer, editor = signed_in(UserRole.viewer), signed_in(UserRole.editor)
    rows = soup(viewer.get("/admin/subscribers")).select("tbody tr")
    assert "broken" in rows[0].get_text() and "quarantined" in rows[0].get_text()
    assert rows[0].select_one("button") is None  # viewers can't reactivate
    stats = {
        d.select_one("dt").get_text(): d.select_one("dd").get_text()  # type: ignore[union-attr]
        for d in soup(viewer.get("/admin/")).select(".stats div")
    }
    assert stats["Quarantined"] == "1" and stats["Given up (24 h)"] == "1"
    page = f"/admin/subscribers/{bad['id']}"
    log = soup(editor.get(page))
    assert "incident.created" in log.get_text() and f"msg_{delivery_id}" in log.get_text()
    again = post_form(
        editor,
        f"/admin/deliveries/{delivery_id}/redeliver",
        {"_back": page},
        follow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["location"] == f"{page}?done=redelivered"
    back = post_form(
        editor,
        f"/admin/subscribers/{bad['id']}/reactivate",
        {"_back": page},
        follow_redirects=False,
    )
    assert back.status_code == 303
    assert staff.get(f"/api/v1/subscribers/{bad['id']}").json()["status"] == "active"
    assert staff.get(f"/api/v1/deliveries/{delivery_id}").json()["status"] == "pending"


def test_tokens_are_shown_once_and_revocable(
    signed_in: SignIn, client: TestClient, engine: Engine
) -> None:
    admin = signed_in(UserRole.admin)
    empty = post_form(admin, "/admin/tokens", {"name": " ", "scope": "write"})
    assert empty.status_code == 422 and field_error(soup(empty), "name")
    bad_scope = post_form(admin, "/admin/tokens", {"name": "ci", "scope": "root"})
    assert bad_scope.status_code == 422 and field_error(soup(bad_scope), "scope")
    page = soup(post_form(admin, "/admin/tokens", {"name": "ci", "scope": "write"}))
    token = str(page.select_one("#new-token")["value"])  # type: ignore[index]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/components", json={"name": "x"}, headers=auth).status_code == 201
    listing = admin.get("/admin/tokens").text
    assert "ci" in listing and token not in listing
    with unit_of_work(engine) as session:
        row = session.exec(select(ApiToken)).one()
    post_form(admin, f"/admin/tokens/{row.id}/revoke", {})
    assert client.get("/api/v1/components", headers=auth).status_code == 401
    assert post_form(admin, "/admin/tokens/999/revoke", {}).status_code == 404


def test_users_added_with_a_one_time_password_and_roles_changed(
    signed_in: SignIn, app: Any, engine: Engine
) -> None:
    admin = signed_in(UserRole.admin, email="root@example.com")
    bad = post_form(admin, "/admin/users", {"email": "not-an-email", "role": "editor"})
    assert bad.status_code == 422 and "email address" in field_error(soup(bad), "email")
    assert soup(bad).select_one("[name=email]")["value"] == "not-an-email"  # type: ignore[index]
    page = soup(post_form(admin, "/admin/users", {"email": "Eve@Example.com", "role": "viewer"}))
    password = str(page.select_one("#new-password")["value"])  # type: ignore[index]
    duplicate = post_form(admin, "/admin/users", {"email": "eve@example.com", "role": "viewer"})
    assert duplicate.status_code == 409 and "already exists" in field_error(
        soup(duplicate), "email"
    )
    with TestClient(app, base_url="https://testserver") as eve:
        assert sign_in(eve, "eve@example.com", password).status_code == 303
        assert eve.get("/admin/incidents/new").status_code == 403
        with unit_of_work(engine) as session:
            eve_id = session.exec(select(User).where(User.email == "eve@example.com")).one().id
        post_form(admin, f"/admin/users/{eve_id}", {"role": "editor"})
        assert eve.get("/admin/incidents/new").status_code == 200
    with unit_of_work(engine) as session:
        root = session.exec(select(User).where(User.email == "root@example.com")).one()
    last = post_form(admin, f"/admin/users/{root.id}", {"role": "viewer"})
    assert last.status_code == 409 and "last admin" in last.text


def test_audit_log_filters(signed_in: SignIn, staff: TestClient) -> None:
    editor = signed_in(UserRole.editor, email="ed@example.com")
    post_form(editor, "/admin/components/new", {"name": "API", "status": "operational"})
    open_incident(staff)
    viewer = signed_in(UserRole.viewer)
    everything = soup(viewer.get("/admin/audit")).select("tbody tr")
    assert len(everything) >= 3  # token, component, incident
    by_ed = soup(viewer.get("/admin/audit?actor=ed%40example.com")).select("tbody tr")
    assert [r.select("td")[2].get_text() for r in by_ed] == ["component.created"]
    opened = soup(viewer.get("/admin/audit?action=incident.opened")).select("tbody tr")
    assert len(opened) == 1 and "token:tester" in opened[0].get_text()
    later = soup(viewer.get("/admin/audit?since=2030-01-01T00:00")).get_text()
    assert "Nothing matches" in later
    bad = viewer.get("/admin/audit?since=yesterday")
    assert bad.status_code == 200 and field_error(soup(bad), "since")


def test_admin_gives_a_new_one_time_password(signed_in: SignIn, app: Any, engine: Engine) -> None:
    admin = signed_in(UserRole.admin)
    with TestClient(app, base_url="https://testserver") as eve:
        page = soup(
            post_form(admin, "/admin/users", {"email": "eve@example.com", "role": "editor"})
        )
        first = str(page.select_one("#new-password")["value"])  # type: ignore[index]
        assert sign_in(eve, "eve@example.com", first).status_code == 303
        with unit_of_work(engine) as session:
            eve_id = session.exec(select(User).where(User.email == "eve@example.com")).one().id
        reset = soup(post_form(admin, f"/admin/users/{eve_id}/password", {}))
        second = str(reset.select_one("#new-password")["value"])  # type: ignore[index]
        assert second != first
        assert eve.get("/admin/", follow_redirects=False).status_code == 303  # signed out
        assert sign_in(eve, "eve@example.com", first).status_code == 401
        assert sign_in(eve, "eve@example.com", second).status_code == 303


def test_change_own_password(signed_in: SignIn, app: Any) -> None:
    me = signed_in(UserRole.viewer, email="me@example.com")
    with TestClient(app, base_url="https://testserver") as other_tab:
        assert sign_in(other_tab, "me@example.com").status_code == 303
        wrong = post_form(
            me,
            "/admin/account",
            {"password": "nope", "new_password": "n3w password!", "confirm_password": "x"},
        )
        assert wrong.status_code == 422 and "not your current" in field_error(
            soup(wrong), "password"
        )
        assert 'value="nope"' not in wrong.text  # passwords are never echoed back
        differ = post_form(
            me,
            "/admin/account",
            {"password": PASSWORD, "new_password": "n3w password!", "confirm_password": "other"},
        )
        assert "differ" in field_error(soup(differ), "confirm_password")
        short = post_form(
            me,
            "/admin/account",
            {"password": PASSWORD, "new_password": "short", "confirm_password": "short"},
        )
        assert "at least 10" in field_error(soup(short), "new_password")
        new = {"new_password": "n3w password!", "confirm_password": "n3w password!"}
        changed = post_form(
            me, "/admin/account", {"password": PASSWORD, **new}, follow_redirects=False
        )
        assert changed.status_code == 303
        assert me.get("/admin/", follow_redirects=False).status_code == 200  # this session stays
        assert other_tab.get("/admin/", follow_redirects=False).status_code == 303
        assert sign_in(other_tab, "me@example.com", "n3w password!").status_code == 303
