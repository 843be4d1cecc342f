"""The OpenAPI document describes the errors Pharos really answers; real answers are checked
against it with a JSON Schema validator."""

from __future__ import annotations

from typing import Any

import jsonschema
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
