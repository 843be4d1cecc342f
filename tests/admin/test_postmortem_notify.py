"""Fixing a typo in a published postmortem tells nobody unless staff ask: the admin editor."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.db import unit_of_work
from app.models import OutboxEvent, UserRole
from tests.admin.conftest import SignIn, post_form, soup
from tests.conftest import open_incident


def _notified(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        kinds = session.exec(
            select(OutboxEvent.type).where(col(OutboxEvent.type) == "incident.postmortem_published")
        ).all()
    return len(kinds)


def _box_ticked(client: TestClient, page: str) -> bool:
    box = soup(client.get(page)).select_one("input[name=notify]")
    assert box is not None
    return box.has_attr("checked")


def test_the_notify_box_is_ticked_only_for_the_first_publication(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    incident = open_incident(staff, status="resolved", body="Fixed.")
    editor = signed_in(UserRole.editor)
    page = f"/admin/incidents/{incident['id']}/postmortem"
    assert _box_ticked(editor, page)
    first = {"body": "Two consumers stalled.", "action": "publish", "notify": "on"}
    assert post_form(editor, page, first, follow_redirects=False).status_code == 303
    assert _notified(engine) == 1
    # Republishing a typo fix: the box is unticked and says why; submitted as shown, silent.
    editor_page = soup(editor.get(page))
    assert "published before" in editor_page.get_text()
    assert not _box_ticked(editor, page)
    fix = {"body": "Two consumers stalled for 2 hours.", "action": "publish"}
    assert post_form(editor, page, fix, follow_redirects=False).status_code == 303
    assert _notified(engine) == 1
    assert "for 2 hours" in staff.get(f"/api/v1/incidents/{incident['id']}").text
    # Unpublished and published again is still not news by default...
    post_form(editor, page, {"body": fix["body"], "action": "unpublish"})
    assert not _box_ticked(editor, page)
    # ...but staff can tick the box to tell everyone again.
    again = {**fix, "notify": "on"}
    assert post_form(editor, page, again, follow_redirects=False).status_code == 303
    assert _notified(engine) == 2
