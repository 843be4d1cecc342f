"""The Statuspage client's back-off, retries and paging (the network faked in process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from app.importers.source import SourceError
from app.importers.statuspage_api import StatuspageClient, retry_after


def client(handler: httpx.MockTransport, waits: list[float], **kw: int) -> StatuspageClient:
    return StatuspageClient(
        "https://api.example/v1",
        api_key="secret-key",
        max_rate=0,
        sleep=waits.append,
        transport=handler,
        **kw,
    )


def test_retry_after_reads_seconds_and_dates() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(answer("3"), default=9) == 3
    assert retry_after(answer("nonsense"), default=9) == 9
    assert retry_after(answer("100000"), default=9) == 60  # capped
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= retry_after(answer(later), default=9) <= 30
    assert retry_after(httpx.Response(420), default=9) == 9


def test_server_errors_are_retried_then_reported() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503) if len(calls) < 3 else httpx.Response(200, json=[])

    waits: list[float] = []
    assert client(httpx.MockTransport(handler), waits).get_json("/pages/p/components") == []
    assert waits == [2.0, 4.0]

    failing = client(httpx.MockTransport(lambda r: httpx.Response(500)), [])
    with pytest.raises(SourceError, match="HTTP 500"):
        failing.get_json("/pages/p/components")


def test_a_refused_key_is_reported_without_the_key() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401)

    with pytest.raises(SourceError) as caught:
        client(httpx.MockTransport(handler), []).get_json("/pages/p")
    assert seen == ["OAuth secret-key"]
    assert "refused" in caught.value.message and "secret-key" not in caught.value.message


def test_rate_limits_give_up_after_the_retries() -> None:
    waits: list[float] = []
    limited = client(
        httpx.MockTransport(lambda r: httpx.Response(420)), waits, rate_limit_retries=3
    )
    with pytest.raises(SourceError, match="still rate limited"):
        limited.get_json("/pages/p")
    assert waits == [2.0, 4.0, 8.0]


def test_pages_stop_on_a_short_page_and_when_the_page_number_is_ignored() -> None:
    items = [{"id": str(n)} for n in range(5)]

    def paged(request: httpx.Request) -> httpx.Response:
        number, size = int(request.url.params["page"]), int(request.url.params["per_page"])
        return httpx.Response(200, json=items[(number - 1) * size : number * size])

    assert client(httpx.MockTransport(paged), [], page_size=2).all("/x") == items
    same = client(
        httpx.MockTransport(lambda r: httpx.Response(200, json=items[:2])), [], page_size=2
    )
    assert same.all("/x") == items[:2]
    with pytest.raises(SourceError, match="expected a list"):
        client(httpx.MockTransport(lambda r: httpx.Response(200, json={})), []).all("/x")
