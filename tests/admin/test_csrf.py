"""CSRF tokens on every form; a refused post (stale token, ended session) loses no text."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.models import Incident, UserRole
from tests.admin.conftest import SignIn, add_user, csrf, post_form, sign_in, soup
from tests.conftest import FakeClock

LONG_TEXT = "We found the stalled consumers & restarted them. <Details> follow.\n" * 20


def _open(client: TestClient) -> str:
    response = post_form(
        client,
        "/admin/incidents/new",
        {"name": "Delays", "status": "investigating", "body": "Looking.", "notify": "on"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).split("?")[0].rsplit("/", 1)[1]


def test_every_post_form_carries_the_session_token(signed_in: SignIn) -> None:
    client = signed_in(UserRole.admin)
    incident = _open(client)
    token = csrf(client)
    for path in (
        "/admin/",
        "/admin/incidents/new",
        f"/admin/incidents/{incident}",
        f"/admin/incidents/{incident}/postmortem",
        "/admin/components/new",
        "/admin/maintenance/new",
        "/admin/templates",
        "/admin/tokens",
        "/admin/users",
    ):
        forms = soup(client.get(path)).find_all("form", method="post")
        assert forms, path
        for form in forms:
            field = form.find("input", attrs={"name": "csrf_token"})
            assert field is not None and field["value"] == token, (path, form.get("action"))


def test_a_post_without_the_token_changes_nothing(signed_in: SignIn, engine: Engine) -> None:
    client = signed_in(UserRole.editor)
    response = client.post(
        "/admin/incidents/new",
        data={"name": "Forged", "status": "investigating", "body": "x", "_back": "/admin/"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with unit_of_work(engine) as session:
        assert session.exec(select(Incident)).all() == []


def test_stale_token_brings_the_update_text_back(signed_in: SignIn, engine: Engine) -> None:
    client = signed_in(UserRole.editor)
    incident = _open(client)
    page = f"/admin/incidents/{incident}"
    response = client.post(
        f"{page}/updates",
        data={
            "csrf_token": "from-an-old-tab",
            "_back": page,
            "_form": "update",
            "status": "monitoring",
            "body": LONG_TEXT,
            "notify": "on",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == page
    shown = soup(client.get(page))
    assert "page had expired" in shown.get_text()
    assert shown.find("textarea", attrs={"name": "body"}).get_text() == LONG_TEXT  # type: ignore[union-attr]
    checked = shown.find("input", attrs={"name": "status", "checked": True})
    assert checked is not None and checked["value"] == "monitoring"
    # ... with a fresh token, so sending it again works; the draft is shown once.
    again = soup(client.get(page))
    assert again.find("textarea", attrs={"name": "body"}).get_text() == ""  # type: ignore[union-attr]
    with unit_of_work(engine) as session:
        assert session.get(Incident, incident).status == "investigating"  # type: ignore[union-attr]


def test_expired_session_keeps_the_text_through_sign_in(
    signed_in: SignIn, engine: Engine, clock: FakeClock
) -> None:
    client = signed_in(UserRole.editor, email="ed@example.com")
    incident = _open(client)
    page = f"/admin/incidents/{incident}"
    token = csrf(client, page)
    clock.advance(hours=3)  # the session ended while the update was being written
    response = client.post(
        f"{page}/updates",
        data={
            "csrf_token": token,
            "_back": page,
            "_form": "update",
            "status": "identified",
            "body": LONG_TEXT,
            "component.unknown": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 401
    login = soup(response)
    assert "what you typed is kept" in login.get_text()
    carry = login.find("input", attrs={"name": "carry"})
    assert carry is not None and "stalled consumers" in str(carry["value"])
    client.cookies.delete("pharos_admin")
    back = sign_in(client, "ed@example.com", next=page, carry=str(carry["value"]))
    assert back.status_code == 303 and back.headers["location"] == page
    shown = soup(client.get(page))
    assert "Your form was not sent yet" in shown.get_text()
    assert shown.find("textarea", attrs={"name": "body"}).get_text() == LONG_TEXT  # type: ignore[union-attr]
    assert shown.find("input", attrs={"name": "status", "checked": True})["value"] == "identified"  # type: ignore[index]


def test_sign_in_page_never_redirects_off_site(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    for target in ("https://evil.example/", "//evil.example/admin/", "/admin/../x", "/elsewhere"):
        browser.cookies.clear()
        response = sign_in(browser, "ann@example.com", next=target)
        assert response.headers["location"] == "/admin/", target
