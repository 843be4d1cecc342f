"""The OpenAPI document, true about errors: what Pharos answers when it refuses a request.

FastAPI documents only its own 422 shape (a list under `detail`). Pharos answers every error as
`{"detail": ..., "code": ...}`: a domain error's detail is a sentence, a validation error's
is the list of problems with a `message` sentence beside it. Staff API operations can also
answer 401 (no valid token), 403 (a read-only token writing), 404 (an id that does not exist)
and 409 (a change the current state refuses); any operation with a body, 400 (a body that is
not JSON or not UTF-8); any path with a parameter, 404. Paths outside /api/ answer people, so
their errors are pages (text/html). This adds them all, so generated clients handle them, and
tests/web/test_schemathesis.py holds the document to what the app answers. A 422 to a request
the schema allows is declared where it can happen: the operation's 422 lists the rules
(`x-refused-beyond-schema`, from `errors.beyond_schema` on the route). Every 201 under /api/
carries a `Location`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.errors import BEYOND_SCHEMA

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, as a sentence"},
        "code": {"type": "string", "description": "A stable machine-readable code"},
    },
}
VALIDATION_ERROR = {
    "title": "ValidationFailure",
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {
            "description": "The problems (a request that did not validate) or a sentence (a "
            "well-formed request naming something impossible)",
            "anyOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string"},
                            "loc": {"type": "array", "items": {}},
                            "msg": {"type": "string"},
                        },
                    },
                },
            ],
        },
        "message": {"type": "string", "description": "Every problem, as one sentence"},
        "code": {"type": "string"},
    },
}
STAFF_ERRORS = {
    "401": "No valid bearer token",
    "403": "A read-only token asked to write",
}
WRITES = ("post", "put", "patch", "delete")
LOCATION = {
    "description": "Where what was created can be read: a path on this server",
    "required": True,
    "schema": {"type": "string", "pattern": "^/api/"},
}


def _answer(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _page(description: str) -> dict[str, Any]:
    """An error answered as a page (paths outside /api/ answer people, in HTML)."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the errors it really answers."""
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["ValidationFailure"] = VALIDATION_ERROR
    for path, operations in schema.get("paths", {}).items():
        api = path.startswith("/api/")
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses or operation.get("parameters") or "requestBody" in operation:
                rules = responses.get("422", {}).get(BEYOND_SCHEMA)
                responses["422"] = (
                    _answer("The request did not validate", "ValidationFailure")
                    if api
                    else _page("A query that did not validate")
                )
                if rules:
                    responses["422"]["description"] = (
                        "The request did not validate, or it broke a rule the schema can't "
                        "express: " + "; ".join(rules)
                    )
                    responses["422"][BEYOND_SCHEMA] = rules
            if "requestBody" in operation:
                responses.setdefault("400", _answer("The body could not be read", "Error"))
            if api and "201" in responses:
                responses["201"].setdefault("headers", {})["Location"] = LOCATION
            if "{" in path:
                responses["404"] = (
                    _answer("No such object", "Error") if api else _page("No such page")
                )
            if not path.startswith("/api/v1/"):
                continue
            for status, description in STAFF_ERRORS.items():
                if status == "403" and method not in WRITES:
                    continue
                responses.setdefault(status, _answer(description, "Error"))
            if method in WRITES:
                responses.setdefault("409", _answer("The current state refuses this", "Error"))
    return schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` as /openapi.json (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
