"""Staff API tokens: created once in the clear, stored as a hash, scoped, revocable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from app.auth import service as auth
from app.cli import cli
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from tests.conftest import FakeClock


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PHAROS_DATABASE_URL", url)
    return url


def test_token_is_printed_alone_on_the_last_line_and_works(env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    result = runner.invoke(cli, ["tokens", "create", "ops"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("phr_") and " " not in token
    with TestClient(create_app(Settings(database_url=env))) as client:
        ok = client.get("/api/v1/components", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        listed = runner.invoke(cli, ["tokens", "list"])
        assert "ops" in listed.output and token not in listed.output
        assert runner.invoke(cli, ["tokens", "revoke", "1"]).exit_code == 0
        revoked = client.get("/api/v1/components", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401


def test_only_a_hash_is_stored(env: str) -> None:
    result = CliRunner().invoke(cli, ["tokens", "create", "ops"])
    token = result.output.strip().splitlines()[-1]
    database = Path(env.removeprefix("sqlite:///"))
    assert token.encode() not in database.read_bytes()


def test_last_use_is_written_at_most_once_a_minute(engine: Engine, clock: FakeClock) -> None:
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="ci", now=clock())
    first = clock()
    with unit_of_work(engine) as session:
        assert auth.verify_token(session, plain=plain, now=first) is not None
    clock.advance(seconds=30)
    with unit_of_work(engine) as session:
        seen = auth.verify_token(session, plain=plain, now=clock())
        assert seen is not None and seen.last_used_at == first
    clock.advance(seconds=31)
    later = clock()
    with unit_of_work(engine) as session:
        seen = auth.verify_token(session, plain=plain, now=later)
        assert seen is not None and seen.last_used_at == later
    with unit_of_work(engine) as session:
        assert auth.verify_token(session, plain=plain + "x", now=later) is None


def test_a_read_token_may_only_read(app: object, engine: Engine, clock: FakeClock) -> None:
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="dashboards", scope="read", now=clock())
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:  # type: ignore[arg-type]
        assert client.get("/api/v1/components").status_code == 200
        refused = client.post("/api/v1/components", json={"name": "X"})
        assert refused.status_code == 403 and "read" in refused.json()["detail"]


def test_bad_token_names_and_scopes_are_refused(engine: Engine, clock: FakeClock) -> None:
    with unit_of_work(engine) as session:
        for name, scope in ((" ", "write"), ("x" * 256, "write"), ("ok", "root")):
            with pytest.raises(ValueError, match=r"name|scope"):
                auth.create_token(session, name=name, scope=scope, now=clock())
        assert auth.list_tokens(session) == []
        gone = auth.revoke_token(session, token_id=1, now=clock() + timedelta(seconds=1))
        assert gone is None
