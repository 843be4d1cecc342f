"""One log line per delivery attempt, at the default level, without secrets."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.config import Settings
from app.notifications.worker import DeliveryWorker
from tests.conftest import FakeClock, open_incident, subscribe_webhook

# Chat-style webhook URLs carry their own secret in the path and the query.
URL = "https://hooks.example.com:8443/services/T0/B0/PATHSECRET?token=QUERYSECRET"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


def test_each_attempt_is_one_line_naming_the_host_only(
    staff: TestClient,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pharos.webhooks")
    sub = subscribe_webhook(staff, URL)
    open_incident(staff)
    answers = iter([httpx.Response(500), httpx.Response(204)])

    async def twice() -> None:
        transport = httpx.MockTransport(lambda request: next(answers))
        async with httpx.AsyncClient(transport=transport) as client:
            worker = DeliveryWorker(engine, settings, client=client, clock=clock)
            assert await worker.run_once(client) == 1
            clock.advance(minutes=1)
            assert await worker.run_once(client) == 1

    asyncio.run(twice())
    lines = [r.getMessage() for r in caplog.records if r.name == "pharos.webhooks"]
    assert len(lines) == 2, lines
    first, second = lines
    assert "attempt 1 " in first and ": 500 in " in first
    assert "attempt 2 " in second and ": 204 in " in second
    for line in lines:
        assert f"subscriber {sub['id']} at https://hooks.example.com:8443:" in line
    text = "\n".join(lines)
    assert "PATHSECRET" not in text and "QUERYSECRET" not in text
    assert sub["secret"] not in text and sub["secret"].removeprefix("whsec_") not in text
