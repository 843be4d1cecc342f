"""Admin UI test helpers: users, signed-in browsers (TestClient with cookies), form tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine

from app.db import unit_of_work
from app.models import UserRole
from app.users import service as users
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"
# The test page's public URL is https, so cookies are Secure: browse over https too.
BASE = "https://testserver"

SignIn = Callable[..., TestClient]


def add_user(engine: Engine, clock: FakeClock, email: str, role: UserRole) -> None:
    """Create a user with the shared test password."""
    with unit_of_work(engine) as session:
        users.create_user(
            session, email=email, role=role, password=PASSWORD, actor="test", now=clock()
        )


def soup(response: Response) -> BeautifulSoup:
    """The page's parsed HTML."""
    return BeautifulSoup(response.text, "html.parser")


def login_token(client: TestClient) -> str:
    """A fresh sign-in form token (its cookie is now in the client)."""
    field = soup(client.get("/admin/login")).find("input", attrs={"name": "login_token"})
    assert isinstance(field, Tag)
    return str(field["value"])


def sign_in(client: TestClient, email: str, password: str = PASSWORD, **extra: str) -> Response:
    """Submit the sign-in form as a browser does."""
    data = {"email": email, "password": password, "login_token": login_token(client), **extra}
    response: Response = client.post("/admin/login", data=data, follow_redirects=False)
    return response


def csrf(client: TestClient, path: str = "/admin/") -> str:
    """The session's CSRF token, read from a page's form."""
    field = soup(client.get(path)).find("input", attrs={"name": "csrf_token"})
    assert isinstance(field, Tag), path
    return str(field["value"])


def post_form(client: TestClient, path: str, data: dict[str, Any], **kw: Any) -> Response:
    """Post a form with the session's CSRF token, like the page's own form."""
    token = csrf(client)
    response: Response = client.post(path, data={"csrf_token": token, **data}, **kw)
    return response


def field_error(page: BeautifulSoup, name: str) -> str:
    """The error shown next to a field (inside the field's own block)."""
    control = page.select_one(f'[name="{name}"]')
    assert control is not None, name
    block = control.find_parent(None, {"class": "has-error"})
    assert isinstance(block, Tag), f"no error block around {name}"
    message = block.select_one(".field-error")
    assert isinstance(message, Tag)
    return message.get_text(" ", strip=True)


@pytest.fixture
def signed_in(app: FastAPI, engine: Engine, clock: FakeClock) -> Iterator[SignIn]:
    """A factory of browsers signed in as a new user of some role."""
    clients: list[TestClient] = []

    def factory(role: UserRole = UserRole.editor, email: str | None = None) -> TestClient:
        email = email or f"{role.value}{len(clients)}@example.com"
        add_user(engine, clock, email, role)
        client = TestClient(app, base_url=BASE)
        client.__enter__()
        clients.append(client)
        response = sign_in(client, email)
        assert response.status_code == 303, response.text
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A browser that has not signed in."""
    with TestClient(app, base_url=BASE) as client:
        yield client
