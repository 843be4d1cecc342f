"""Every feed, empty or full, passes the W3C feed validator with no error and no warning.

The validator (https://github.com/w3c/feedvalidator) is not on PyPI and is not vendored: point
PHAROS_FEEDVALIDATOR at a checkout of it (the folder holding src/feedvalidator) to run this
test; it needs html5lib (`pip install html5lib`). Without the variable the test is skipped,
saying so. See "Feeds" in the README.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock, make_component, open_incident, schedule_maintenance
from tests.tools import json_through

CHECKOUT = os.environ.get("PHAROS_FEEDVALIDATOR", "")
pytestmark = pytest.mark.skipif(
    not CHECKOUT,
    reason="PHAROS_FEEDVALIDATOR is not set: point it at a checkout of w3c/feedvalidator "
    "(see Feeds in the README) to run the W3C feed validator on every feed",
)

RSS2, ATOM = 2, 3  # the validator's feed types (feedvalidator.logging.TYPE_*)
# Runs in its own process: the validator is Python 3 code of its own age, with globals.
DRIVER = r"""
import io, json, sys
sys.path.insert(0, sys.argv[1])
import feedvalidator
from feedvalidator.logging import Error, Warning
from feedvalidator.formatter.text_plain import Formatter
found = {}
for feed in json.load(sys.stdin):
    result = feedvalidator.validateStream(
        io.BytesIO(feed["body"].encode("utf-8")), firstOccurrenceOnly=1,
        contentType=feed["content_type"], base=feed["url"])
    events = [e for e in result["loggedEvents"] if isinstance(e, (Error, Warning))]
    found[feed["url"]] = {"type": result.get("feedType"), "problems": list(Formatter(events))}
print(json.dumps(found))
"""


def validate(feeds: list[dict[str, str]]) -> dict[str, Any]:
    """The validator's errors and warnings per feed URL."""
    src = Path(CHECKOUT) / "src"
    if not (src / "feedvalidator" / "__init__.py").exists():
        pytest.fail(f"PHAROS_FEEDVALIDATOR={CHECKOUT} is not a checkout of w3c/feedvalidator")
    result: dict[str, Any] = json_through([sys.executable, "-c", DRIVER, str(src)], feeds)
    return result


def every_feed(client: TestClient, component_ids: list[str]) -> list[dict[str, str]]:
    """Every feed the page offers, as its readers fetch them."""
    paths = [
        f"{language}{base}.{flavor}"
        for language in ("", "/de", "/fr")  # translated feeds too (a few of the languages)
        for base in ("/history", "/updates", *(f"/components/{i}/history" for i in component_ids))
        for flavor in ("atom", "rss")
    ]
    feeds = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        feeds.append(
            {
                "url": f"https://status.example.com{path}",  # the page's public URL (conftest)
                "content_type": response.headers["content-type"],
                "body": response.text,
            }
        )
    return feeds


def assert_valid(feeds: list[dict[str, str]]) -> None:
    found = validate(feeds)
    assert set(found) == {f["url"] for f in feeds}
    problems = {url: r["problems"] for url, r in found.items() if r["problems"]}
    assert not problems, json.dumps(problems, indent=1)
    for url, r in found.items():  # recognised as what it claims to be
        assert r["type"] == (RSS2 if url.endswith(".rss") else ATOM), (url, r)


def test_empty_feeds_are_valid(client: TestClient, staff: TestClient) -> None:
    assert_valid(every_feed(client, []))  # a page that never changed
    quiet = make_component(staff, name="Portal")
    assert_valid(every_feed(client, [quiet["id"]]))  # a component without incidents


def test_full_feeds_are_valid(client: TestClient, staff: TestClient, clock: FakeClock) -> None:
    group = make_component(staff, name="Charging cloud", group=True)
    ocpp = make_component(staff, name="OCPP 1.6J & 2.0.1", group_id=group["id"])
    done = open_incident(
        staff,
        name='Delays "processing" <status> updates',
        body="Chargers' **status** updates are delayed.\n\n- one\n- two",
        components={ocpp["id"]: "partial_outage"},
        started_at="2025-09-07T08:00:00+00:00",
    )
    clock.advance(minutes=30)
    staff.post(
        f"/api/v1/incidents/{done['id']}/updates",
        json={"status": "resolved", "body": "Fixed. See [the report](https://example.com/r)."},
    )
    staff.put(f"/api/v1/incidents/{done['id']}/postmortem", json={"body": "## Root cause\n\nA."})
    staff.post(f"/api/v1/incidents/{done['id']}/postmortem/publish")
    open_incident(staff, name="Remote start fails", components={ocpp["id"]: "major_outage"})
    schedule_maintenance(staff, component_ids=[ocpp["id"]])
    assert_valid(every_feed(client, [group["id"], ocpp["id"]]))
