"""A real app on a real, fresh database per test: SQLite always, PostgreSQL when configured.

Set PHAROS_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run every
database test on PostgreSQL too; each test then gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine, make_url

from app.auth import service as auth
from app.clock import get_clock
from app.config import Settings
from app.db import create_db_engine, migrate, normalize_url, unit_of_work
from app.main import create_app

PG_URL = os.environ.get("PHAROS_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
START = datetime(2025, 9, 7, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to, plus one millisecond per reading.

    The tick keeps created_at strictly increasing, as it is in real life.
    """

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)

    def set(self, value: datetime) -> None:
        """Jump to a time."""
        self.now = value


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each configured backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pharos.db'}"
        return
    assert PG_URL is not None
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(normalize_url(PG_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            _drop_schema(admin, schema)
        finally:
            admin.dispose()


DROP_LOCK_SECONDS = 60


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema; if a connection left in a transaction holds its tables past
    DROP_LOCK_SECONDS, fail saying which, rather than wait for it forever."""
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{DROP_LOCK_SECONDS}s'")
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    except sa.exc.OperationalError as exc:
        with admin.connect() as conn:
            holders = conn.execute(
                sa.text(
                    "SELECT pid, state, xact_start, query FROM pg_stat_activity"
                    " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
                )
            ).all()
        raise AssertionError(
            f"schema {schema} could not be dropped: a connection still holds it? {holders}"
        ) from exc


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings of the page under test (a Norwegian operator, like the seed incident)."""
    return Settings(
        database_url=database_url,
        page_name="Zaptec",
        public_url="https://status.example.com",
        timezone="Europe/Oslo",
        run_workers=False,  # tests drive workers themselves
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The migrated database's engine."""
    engine = create_db_engine(settings.database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """The app's clock, under the test's control."""
    return FakeClock()


@pytest.fixture
def app(settings: Settings, engine: Engine, clock: FakeClock) -> FastAPI:
    """The service, built as production builds it, with a fake clock."""
    app = create_app(settings)
    app.dependency_overrides[get_clock] = lambda: clock
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (no auth)."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def staff(app: FastAPI, engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    """An HTTP client carrying a valid staff token."""
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="tester", now=clock())
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:
        yield client


def created(staff: TestClient, path: str, fields: dict[str, Any]) -> dict[str, Any]:
    """POST `fields` to a staff API path that creates something; its JSON (201 or fail)."""
    response = staff.post(path, json=fields)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def make_component(staff: TestClient, **fields: Any) -> dict[str, Any]:
    """Create a component through the API and return its JSON."""
    return created(staff, "/api/v1/components", fields)


def open_incident(staff: TestClient, **fields: Any) -> dict[str, Any]:
    """Open an incident through the API and return its JSON."""
    defaults = {"name": "Delays in processing charging events", "body": "We are investigating."}
    return created(staff, "/api/v1/incidents", {**defaults, **fields})


def schedule_maintenance(staff: TestClient, **fields: Any) -> dict[str, Any]:
    """Schedule a maintenance through the API and return its JSON (by default an upgrade
    across the night Oslo's clocks go back: 02:30 CEST to 02:30 CET)."""
    defaults = {
        "name": "Broker upgrade",
        "body": "Chargers may reconnect once.",
        "scheduled_for": "2025-10-26T02:30:00+02:00",
        "scheduled_until": "2025-10-26T02:30:00+01:00",
    }
    return created(staff, "/api/v1/maintenances", {**defaults, **fields})


def subscribe_webhook(staff: TestClient, url: str, **fields: Any) -> dict[str, Any]:
    """Subscribe a webhook through the staff API and return its JSON (with the secret)."""
    return created(staff, "/api/v1/subscribers", {"url": url, **fields})
