"""The `pharos` command: configuration errors and rebuilding uptime."""

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
