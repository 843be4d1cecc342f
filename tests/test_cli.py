"""The `pharos` command: migrate and tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.main import create_app


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


def test_bad_configuration_is_a_clear_error(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHAROS_TIMEZONE", "Nowhere/Land")
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 2
    assert "PHAROS_TIMEZONE" in result.output
    monkeypatch.delenv("PHAROS_TIMEZONE")
    assert "empty" in CliRunner().invoke(cli, ["tokens", "create", " "]).output


def test_rebuild_uptime_recomputes_the_rollups(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    token = runner.invoke(cli, ["tokens", "create", "ops"]).output.strip().splitlines()[-1]
    with TestClient(create_app(Settings(database_url=env))) as client:
        headers = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/v1/components", json={"name": "OCPP"}, headers=headers)
        component_id = created.json()["id"]
        client.patch(
            f"/api/v1/components/{component_id}", json={"status": "major_outage"}, headers=headers
        )
    monkeypatch.setenv("PHAROS_TIMEZONE", "America/Tijuana")
    result = runner.invoke(cli, ["rebuild-uptime"])
    assert result.exit_code == 0, result.output
    assert "rebuilt 1 daily rows in America/Tijuana" in result.output
