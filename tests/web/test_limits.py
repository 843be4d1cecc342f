"""The body size limit at the edge: declared and streamed bodies get the same 413."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.web.limits import BodySizeLimit
from tests.conftest import open_incident

TWO_MB = 2 * 1024 * 1024


class Item(BaseModel):
    name: str


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body sent chunked: httpx gives it no Content-Length."""
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@pytest.mark.parametrize(
    "path", ["/api/v1/incidents", "/api/v1/incidents/{id}/updates", "/api/v1/subscribers"]
)
def test_a_chunked_body_gets_the_same_413_as_a_sized_one(staff: TestClient, path: str) -> None:
    incident = open_incident(staff)
    url = path.format(id=incident["id"])
    headers = {"content-type": "application/json"}
    sized = staff.post(url, content=b"x" * TWO_MB, headers=headers)
    request = staff.build_request("POST", url, content=_chunks(TWO_MB), headers=headers)
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    chunked = staff.send(request)
    assert (sized.status_code, chunked.status_code) == (413, 413)
    assert chunked.json() == sized.json()
    assert chunked.json()["code"] == "too_large"
    assert chunked.headers["content-type"] == "application/json"


def test_a_chunked_body_within_the_limit_goes_through(staff: TestClient) -> None:
    body = b'{"name": "Chunked", "body": "Sent in pieces."}'
    request = staff.build_request(
        "POST",
        "/api/v1/incidents",
        content=iter([body[:10], body[10:]]),
        headers={"content-type": "application/json"},
    )
    response = staff.send(request)
    assert response.status_code == 201, response.text
    assert isinstance(response, httpx.Response)


def test_the_limit_alone_answers_413_even_when_the_app_catches_the_overflow() -> None:
    """FastAPI turns any error while it reads a body into 400 "There was an error parsing the
    body"; the limit must answer 413 whether or not another guard read the body first."""
    inner = FastAPI()

    @inner.post("/items")
    def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    guarded = BodySizeLimit(inner, max_bytes=1024)
    with TestClient(guarded) as client:
        request = client.build_request(
            "POST",
            "/items",
            content=_chunks(4096, 512),
            headers={"content-type": "application/json"},
        )
        response = client.send(request)
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
        assert client.post("/items", json={"name": "small"}).json() == {"name": "small"}
