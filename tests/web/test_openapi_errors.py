"""The OpenAPI document describes the errors Pharos really answers; real answers are checked
against it with a JSON Schema validator."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient


def schema_of(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    answer = document["paths"][path][method]["responses"][status]
    ref: str = answer["content"]["application/json"]["schema"]["$ref"]
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def test_documented_errors_match_the_answers(client: TestClient, staff: TestClient) -> None:
    document = staff.get("/openapi.json").json()
    create = document["paths"]["/api/v1/incidents"]["post"]["responses"]
    assert {"401", "403", "409", "422"} <= set(create)
    assert {"401", "404"} <= set(
        document["paths"]["/api/v1/incidents/{incident_id}"]["get"]["responses"]
    )

    unauthorized = client.get("/api/v1/incidents")
    assert unauthorized.status_code == 401
    jsonschema.validate(unauthorized.json(), schema_of(document, "/api/v1/incidents", "get", "401"))

    missing = staff.get("/api/v1/incidents/nope")
    assert missing.status_code == 404
    jsonschema.validate(
        missing.json(), schema_of(document, "/api/v1/incidents/{incident_id}", "get", "404")
    )

    failure = schema_of(document, "/api/v1/incidents", "post", "422")
    invalid = staff.post("/api/v1/incidents", json={"name": ""})  # does not validate: a list
    assert invalid.status_code == 422
    assert isinstance(invalid.json()["detail"], list)
    jsonschema.validate(invalid.json(), failure)
    impossible = staff.post(  # validates, names an unknown component: a sentence
        "/api/v1/incidents", json={"name": "x", "body": "y", "components": {"nope": "major_outage"}}
    )
    assert impossible.status_code == 422
    assert isinstance(impossible.json()["detail"], str)
    jsonschema.validate(impossible.json(), failure)


def test_a_feed_flavour_that_does_not_exist_is_a_404(client: TestClient) -> None:
    answer = client.get("/history.json")
    assert answer.status_code == 404


def test_a_405_names_every_method_the_path_answers(staff: TestClient, client: TestClient) -> None:
    """The router named only its first route's methods (`OPTIONS /api/v1/incidents` said
    `Allow: GET`, though POST works); a page's 405 dropped `Allow` altogether."""
    api = staff.options("/api/v1/incidents")
    assert api.status_code == 405
    allowed = api.headers["allow"].split(", ")
    assert {"GET", "POST"} <= set(allowed)
    assert all(staff.request(m, "/api/v1/incidents").status_code != 405 for m in allowed)
    page = client.request("TRACE", "/history.atom")
    assert page.status_code == 405
    assert "GET" in page.headers["allow"].split(", ")
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "fields",
    [
        {"started_at": 0},  # a number of seconds was read as 1970
        {"started_at": "0.5"},
        {"backfilled": 0},  # 0 was read as false
        {"deliver_notifications": "yes"},
        {"chargers_affected": 1, "chargers_total": 2**70},  # was a 500: no database stores it
        {"chargers_affected": True, "chargers_total": 2},
    ],
)
def test_input_is_what_the_document_says_or_a_422(
    staff: TestClient, fields: dict[str, object]
) -> None:
    answer = staff.post("/api/v1/incidents", json={"name": "Delays", "body": "x", **fields})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_error"


def test_the_document_says_what_is_answered(staff: TestClient) -> None:
    document = staff.get("/openapi.json").json()
    paths = document["paths"]
    csv = paths["/api/v1/subscribers/email.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]
    assert staff.get("/api/v1/subscribers/email.csv").headers["content-type"].startswith("text/csv")
    assert "400" in paths["/api/v1/incidents"]["post"]["responses"]  # a body that isn't JSON
    uptime = paths["/api/v2/components/{component_id}/uptime.json"]["get"]["responses"]
    assert "404" in uptime
    feed = paths["/history.{flavor}"]["get"]["responses"]
    assert list(feed["404"]["content"]) == ["text/html"]
    edit = document["components"]["schemas"]["IncidentEdit"]["properties"]["name"]
    assert "anyOf" not in edit and edit["type"] == "string"  # may be left out, not null
    assert "null" not in str(edit)


def test_a_literal_path_allows_what_the_document_lists(staff: TestClient) -> None:
    """GET /api/v1/subscribers/chat reaches /api/v1/subscribers/{subscriber_id} (a 404): not
    a method that resource has."""
    assert staff.options("/api/v1/subscribers/chat").headers["allow"] == "POST"
    assert staff.options("/api/v1/subscribers/email").headers["allow"] == "GET, HEAD, POST"
