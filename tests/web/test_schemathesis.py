"""Schemathesis (someone else's OpenAPI fuzzer) over the whole document, against a real server.

`pharos serve` on loopback with a fresh database of each backend, a staff token, every check
schemathesis has (`checks: all`: no server error, status codes, content types, headers and
bodies as documented, schema-violating requests refused, undeclared methods answered 405 with
a true `Allow`, ...) through its examples, coverage and fuzzing phases, with a
fixed seed, deterministic generation and a bounded number of examples per operation, so two
runs send the same requests. It must find nothing. Objects made beforehand give the operations
that take an id real ones (pinned in the config).

A request the schema allows must be accepted (2xx, or 401/403/404/409/429, which depend on
the state, not the shape), with one allowance the document itself makes: an operation whose 422
lists rules the schema can't express (`x-refused-beyond-schema`: an id that does not exist,
`ends_at` before `starts_at`) may answer those with 422. Everywhere else a 422 to valid data is
a failure: the schema and the validation disagree.

Then the stateful phase, in a second run on the same server: every 201 carries a Location, so
schemathesis infers links from them and follows chains of calls from a create to reads,
changes and deletes of what was created (a lost resource, a delete that did not delete, ...).
Its guesses from parameter names stay off: they fed an incident's id in as an update's and
reported the 404 as a lost resource (seed 7). Which links a scenario takes is random in
schemathesis whatever the seed, so that run's requests differ between runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES_PER_OPERATION = 5
SCENARIOS = 30  # stateful: chains of calls along the links (create, read, change, delete)
CONFIG = """\
workers = 1
seed = 1
continue-on-failure = true
request-timeout = 30
max-failures = 50
suppress-health-check = ["too_slow"]

[generation]
mode = "all"
max-examples = {examples}
deterministic = true
database = "none"

[checks]
enabled = true

[checks.positive_data_acceptance]
expected-statuses = {accepted}

[phases.examples]
enabled = {first}
[phases.coverage]
enabled = {first}
[phases.fuzzing]
enabled = true
[phases.stateful]
enabled = {second}
[phases.stateful.generation]
max-examples = {scenarios}
# Stateful links from Location headers only: the name-matching guess ("dependency-analysis")
# fed an incident's id in as an update's and called the 404 a lost resource (seed 7).
[phases.stateful.inference]
algorithms = ["location-headers"]

[parameters]
{parameters}
{beyond_schema}
"""
ACCEPTED = ["2XX", "3XX", "401", "403", "404", "409", "429"]
BEYOND_SCHEMA = "x-refused-beyond-schema"


def beyond_schema(document: dict[str, Any]) -> list[str]:
    """The operations whose 422 the document explains with rules beyond the schema."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            rules = operation.get("responses", {}).get("422", {}).get(BEYOND_SCHEMA)
            if rules:
                assert all(isinstance(r, str) and r for r in rules), (method, path, rules)
                found.append(f"{method.upper()} {path}")
    return found


def allowances(operations: list[str]) -> str:
    """A schemathesis [[operations]] block per operation that may answer valid data 422."""
    statuses = json.dumps([*ACCEPTED, "422"])
    return "".join(
        f"\n[[operations]]\ninclude-name = {json.dumps(name)}\n"
        f"checks.positive_data_acceptance.expected-statuses = {statuses}\n"
        for name in operations
    )


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """`pharos serve` on a fresh database, background loops off (nothing moves on its own)."""
    env = pharos_env(tmp_path / "unused.db", "http://status.test", run_workers="false")
    env["PHAROS_DATABASE_URL"] = database_url
    running = start(env, free_port(), tmp_path)
    yield running
    stop(running.process)


def seed(server: Server, token: str) -> dict[str, str]:
    """Objects for the operations that take an id, so those run on real ones, not only 404s."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as api:

        def made(path: str, body: dict[str, object]) -> dict[str, object]:
            answer = api.post(path, json=body)
            assert answer.status_code == 201, answer.text
            result: dict[str, object] = answer.json()
            return result

        component = made("/api/v1/components", {"name": "OCPP"})
        incident = made(
            "/api/v1/incidents",
            {
                "name": "Delays",
                "body": "Investigating.",
                "components": {component["id"]: "major_outage"},
            },
        )
        maintenance = made(
            "/api/v1/maintenances",
            {
                "name": "Upgrade",
                "body": "Planned.",
                "scheduled_for": "2031-01-01T00:00:00Z",
                "scheduled_until": "2031-01-01T02:00:00Z",
            },
        )
    updates = incident["incident_updates"]
    assert isinstance(updates, list)
    return {
        "path.component_id": str(component["id"]),
        "path.incident_id": str(incident["id"]),
        "path.update_id": str(updates[0]["id"]),
        "path.maintenance_id": str(maintenance["id"]),
    }


def test_the_openapi_document_is_true(server: Server, tmp_path: Path) -> None:
    token = create_token(server.env)
    parameters = "\n".join(f'"{key}" = "{value}"' for key, value in seed(server, token).items())
    document = httpx.get(f"{server.url}/openapi.json").json()
    allowed = beyond_schema(document)
    operations = sum(len(o) for o in document["paths"].values())
    assert 0 < len(allowed) < operations / 2, allowed  # the exception, not the rule
    # Two runs on one server: examples, coverage and fuzzing with the seeded ids pinned; then
    # the stateful phase with nothing pinned, every id from a Location header (a pinned id,
    # deleted by an earlier phase, would stand in for a link's and look like a lost resource),
    # after fuzzing the POSTs again: the Location headers it sees are what links are made of.
    first = schemathesis(
        server, token, tmp_path / "first.toml", parameters, allowances(allowed), first=True
    )
    selected = re.search(r"Selected: (\d+)/(\d+)", first)
    tested = re.search(r"Tested: (\d+)", first)
    assert selected and tested, first
    assert selected[1] == selected[2] == tested[1], first  # every operation, none skipped
    assert int(tested[1]) >= 60, first  # the whole document (65 operations when written)
    only_creators_fuzzed = (
        '\n[[operations]]\nexclude-method = "POST"\nphases.fuzzing.enabled = false\n'
    )
    second = schemathesis(
        server, token, tmp_path / "second.toml", "", allowances(allowed) + only_creators_fuzzed
    )
    scenarios = re.search(r"Scenarios: +(\d+)", second)
    links = re.search(r"API Links: +(\d+) covered / (\d+) selected", second)
    assert scenarios and links, second
    # Every creating operation sends Location, so links are inferred and followed.
    assert int(scenarios[1]) >= SCENARIOS / 2 and int(links[2]) >= 20, second
    # Which links a scenario follows is drawn at random (schemathesis uses true randomness
    # there, seed or not): 13-14 of 21-25 in the runs so far; some must be.
    assert int(links[1]) >= 5, second


def schemathesis(
    server: Server,
    token: str,
    config: Path,
    parameters: str,
    allowed: str,
    *,
    first: bool = False,
) -> str:
    """Run schemathesis over the document (examples, coverage and fuzzing; or fuzzing and the
    stateful phase); its report."""
    config.write_text(
        CONFIG.format(
            examples=EXAMPLES_PER_OPERATION,
            scenarios=SCENARIOS,
            parameters=parameters,
            accepted=json.dumps(ACCEPTED),
            beyond_schema=allowed,
            first=json.dumps(first),
            second=json.dumps(not first),
        )
    )
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=config.parent,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    print(report)  # shown with -s: what ran, phase by phase
    return report
