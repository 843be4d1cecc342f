"""Signing in and out: cookies, lock-out, expiry, and public pages untouched by sessions."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.clock import get_clock
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import LoginAttempt, StaffSession, UserRole
from tests.admin.conftest import PASSWORD, SignIn, add_user, post_form, sign_in, soup
from tests.conftest import FakeClock


def test_pages_send_strangers_to_sign_in_and_back(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.admin)
    first = browser.get("/admin/components?x=1", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/admin/login?next=%2Fadmin%2Fcomponents%3Fx%3D1"
    page = soup(browser.get(first.headers["location"]))
    assert page.find("input", attrs={"name": "next"})["value"] == "/admin/components?x=1"  # type: ignore[index]
    done = sign_in(browser, "ANN@example.com ", next="/admin/components?x=1")
    assert done.status_code == 303 and done.headers["location"] == "/admin/components?x=1"
    assert browser.get("/admin/components").status_code == 200


def test_session_cookie_flags(browser: TestClient, engine: Engine, clock: FakeClock) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    response = sign_in(browser, "ann@example.com")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("pharos_admin=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/admin"} <= flags
    with unit_of_work(engine) as session:
        stored = session.exec(select(StaffSession)).one()
    token = cookie.split(";")[0].split("=", 1)[1]
    assert stored.id != token and len(stored.id) == 64  # only a hash is stored


def test_cookie_is_not_secure_on_a_plain_http_page(
    settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    app = create_app(settings.model_copy(update={"public_url": "http://127.0.0.1:8000"}))
    app.dependency_overrides[get_clock] = lambda: clock
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    with TestClient(app) as client:
        response = sign_in(client, "ann@example.com")
    cookie = next(c for c in response.headers.get_list("set-cookie") if "pharos_admin=" in c)
    assert "secure" not in cookie.lower() and "httponly" in cookie.lower()


def test_wrong_password_keeps_the_email_and_says_why(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    response = sign_in(browser, "ann@example.com", "wrong password!")
    assert response.status_code == 401
    page = soup(response)
    assert "Wrong email or password" in page.get_text()
    assert page.find("input", attrs={"name": "email"})["value"] == "ann@example.com"  # type: ignore[index]
    assert "pharos_admin=" not in response.headers.get("set-cookie", "")


def test_sign_in_form_needs_its_own_token(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    data = {"email": "ann@example.com", "password": PASSWORD, "login_token": "forged"}
    response = browser.post("/admin/login", data=data, follow_redirects=False)
    assert response.status_code == 400 and "expired" in response.text
    assert browser.get("/admin/", follow_redirects=False).status_code == 303


def test_account_locks_after_repeated_failures_then_unlocks(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    for _ in range(5):
        assert sign_in(browser, "ann@example.com", "wrong password!").status_code == 401
    locked = sign_in(browser, "ann@example.com")  # the right password is refused too
    assert locked.status_code == 429 and "locked" in locked.text
    clock.advance(minutes=16)
    assert sign_in(browser, "ann@example.com").status_code == 303


def test_success_resets_the_account_count(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    for _ in range(4):
        sign_in(browser, "ann@example.com", "wrong password!")
    assert sign_in(browser, "ann@example.com").status_code == 303
    browser.cookies.clear()
    for _ in range(4):
        assert sign_in(browser, "ann@example.com", "wrong password!").status_code == 401
    assert sign_in(browser, "ann@example.com").status_code == 303


def test_one_address_is_limited_across_accounts(
    browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    add_user(engine, clock, "ann@example.com", UserRole.viewer)
    for n in range(20):  # a password spray: one try per account, never locking one
        assert sign_in(browser, f"guess{n}@example.com", "wrong password!").status_code == 401
    refused = sign_in(browser, "ann@example.com")
    assert refused.status_code == 429 and "your address" in refused.text
    with unit_of_work(engine) as session:
        assert len(session.exec(select(LoginAttempt)).all()) == 20  # refusals aren't tries


def test_disabled_user_cannot_sign_in(
    signed_in: SignIn, browser: TestClient, engine: Engine, clock: FakeClock
) -> None:
    admin = signed_in(UserRole.admin)
    add_user(engine, clock, "bob@example.com", UserRole.editor)
    page = soup(admin.get("/admin/users"))
    form = next(f for f in page.select("tr") if "bob@" in f.get_text()).select_one("form")
    assert form is not None
    post_form(admin, str(form["action"]), {"role": "editor", "disabled": "on"})
    assert sign_in(browser, "bob@example.com").status_code == 401


def test_idle_and_absolute_expiry(signed_in: SignIn, clock: FakeClock) -> None:
    client = signed_in(UserRole.viewer)
    clock.advance(minutes=119)
    assert client.get("/admin/", follow_redirects=False).status_code == 200
    clock.advance(minutes=119)  # each visit moves the idle expiry on
    assert client.get("/admin/", follow_redirects=False).status_code == 200
    clock.advance(minutes=121)
    assert client.get("/admin/", follow_redirects=False).status_code == 303
    other = signed_in(UserRole.viewer)
    for _ in range(12):  # busy all day: the 12-hour cap still ends the session
        clock.advance(minutes=60)
        other.get("/admin/")
    assert other.get("/admin/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_server_side(signed_in: SignIn, engine: Engine) -> None:
    client = signed_in(UserRole.viewer)
    cookie = client.cookies.get("pharos_admin")
    out = post_form(client, "/admin/logout", {}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/admin/login")
    with unit_of_work(engine) as session:
        assert session.exec(select(StaffSession)).all() == []
    client.cookies.set("pharos_admin", str(cookie), domain="testserver", path="/admin")
    assert client.get("/admin/", follow_redirects=False).status_code == 303  # replay fails


def test_admin_pages_are_private_and_locked_down(signed_in: SignIn) -> None:
    client = signed_in(UserRole.viewer)
    response = client.get("/admin/")
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = soup(response)
    assert not page.find_all("script", src=False) and not page.find_all("style")
    assert not page.select("[style]")


def test_public_pages_do_not_vary_by_session(
    signed_in: SignIn, app: FastAPI, engine: Engine
) -> None:
    client = signed_in(UserRole.admin)
    assert client.cookies.get("pharos_admin")
    with TestClient(app, base_url="https://testserver") as anonymous:
        for path in ("/", "/history", "/api/v2/summary.json"):
            mine, theirs = client.get(path), anonymous.get(path)
            assert mine.status_code == 200
            assert "set-cookie" not in mine.headers
            assert mine.content == theirs.content
    # The cookie is scoped to /admin, so a browser never sends it to public pages.
    jar = next(iter(client.cookies.jar))
    assert jar.path == "/admin"
