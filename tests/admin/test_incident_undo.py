"""Admin UI: rename and delete incidents, delete updates (admins, after a confirmation); a
resolved incident's form offers only what it takes; back-dating a new incident."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.models import AuditEvent, Incident, OutboxEvent, UserRole
from tests.admin.conftest import SignIn, field_error, post_form, soup
from tests.conftest import make_component, open_incident


def _events(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return len(session.exec(select(OutboxEvent.id)).all())


def test_only_admins_see_and_may_rename_or_delete(signed_in: SignIn, staff: TestClient) -> None:
    incident = open_incident(staff)["id"]
    editor = signed_in(UserRole.editor)
    page = soup(editor.get(f"/admin/incidents/{incident}"))
    assert page.select_one(f'a[href="/admin/incidents/{incident}/delete"]') is None
    for path in (f"/admin/incidents/{incident}/edit", f"/admin/incidents/{incident}/delete"):
        assert editor.get(path).status_code == 403
        assert post_form(editor, path, {"name": "x"}).status_code == 403
    assert staff.get(f"/api/v1/incidents/{incident}").json()["name"] != "x"


def test_admin_renames_an_incident(
    signed_in: SignIn, staff: TestClient, client: TestClient, engine: Engine
) -> None:
    incident = open_incident(staff, name="Tset incident")["id"]
    admin = signed_in(UserRole.admin)
    page = soup(admin.get(f"/admin/incidents/{incident}"))
    link = page.select_one(f'a[href="/admin/incidents/{incident}/edit"]')
    assert link is not None and link.get_text() == "Rename"
    form = soup(admin.get(f"/admin/incidents/{incident}/edit"))
    assert form.select_one("[name=name]")["value"] == "Tset incident"  # type: ignore[index]
    # started 11:00 Oslo time (09:00 UTC, the fake clock's start)
    assert form.select_one("[name=started_at]")["value"] == "2025-09-07T11:00"  # type: ignore[index]
    before = _events(engine)
    empty = post_form(admin, f"/admin/incidents/{incident}/edit", {"name": " "})
    assert empty.status_code == 422 and field_error(soup(empty), "name")
    late = post_form(
        admin,
        f"/admin/incidents/{incident}/edit",
        {"name": "Test incident", "started_at": "2025-09-07T12:00"},
    )
    assert late.status_code == 422
    assert "first update" in field_error(soup(late), "started_at")
    saved = post_form(
        admin,
        f"/admin/incidents/{incident}/edit",
        {"name": "Test incident", "started_at": "2025-09-07T10:30"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = staff.get(f"/api/v1/incidents/{incident}").json()
    assert shown["name"] == "Test incident"
    assert shown["started_at"].startswith("2025-09-07T10:30") or "08:30" in shown["started_at"]
    assert "Test incident" in client.get(f"/incidents/{incident}/").text
    assert _events(engine) == before


def test_admin_deletes_an_update_after_confirming(
    signed_in: SignIn, staff: TestClient, client: TestClient, engine: Engine
) -> None:
    incident = open_incident(staff)["id"]
    stray = staff.post(
        f"/api/v1/incidents/{incident}/updates",
        json={"status": "investigating", "body": "Posted on the wrong incident"},
    ).json()["incident_updates"][0]["id"]
    admin = signed_in(UserRole.admin)
    delete = f"/admin/incidents/{incident}/updates/{stray}/delete"
    page = soup(admin.get(f"/admin/incidents/{incident}"))
    assert page.select_one(f'a[href="{delete}"]') is not None
    confirm = soup(admin.get(delete))
    assert "Posted on the wrong incident" in confirm.get_text()  # says what goes
    assert confirm.select_one(f'form[action="{delete}"] button.danger') is not None
    assert staff.get(f"/api/v1/incidents/{incident}").json()["incident_updates"][0]["id"] == stray
    before = _events(engine)
    gone = post_form(admin, delete, {}, follow_redirects=False)
    assert gone.status_code == 303
    assert "Posted on the wrong incident" not in client.get(f"/incidents/{incident}/").text
    assert _events(engine) == before
    (only,) = staff.get(f"/api/v1/incidents/{incident}").json()["incident_updates"]
    refused = post_form(admin, f"/admin/incidents/{incident}/updates/{only['id']}/delete", {})
    assert refused.status_code == 409
    assert "only update" in soup(refused).select_one("#form-error").get_text()  # type: ignore[union-attr]


def test_admin_deletes_an_incident_after_confirming(
    signed_in: SignIn, staff: TestClient, client: TestClient, engine: Engine
) -> None:
    incident = open_incident(staff, name="Test incident plase ignore")["id"]
    admin = signed_in(UserRole.admin)
    confirm = soup(admin.get(f"/admin/incidents/{incident}/delete"))
    assert "Delete Test incident plase ignore?" in confirm.get_text()
    assert "not told" in confirm.get_text()
    assert client.get(f"/incidents/{incident}/").status_code == 200
    gone = post_form(admin, f"/admin/incidents/{incident}/delete", {}, follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/admin/incidents?done=deleted"
    assert client.get(f"/incidents/{incident}/").status_code == 404
    assert "plase ignore" not in client.get("/").text
    with unit_of_work(engine) as session:
        assert session.get(Incident, incident) is None
        audited = session.exec(
            select(AuditEvent).where(AuditEvent.action == "incident.deleted")
        ).one()
        assert audited.actor.endswith("@example.com")


def test_a_resolved_incident_offers_only_resolved(signed_in: SignIn, staff: TestClient) -> None:
    incident = open_incident(staff)["id"]
    editor = signed_in(UserRole.editor)

    def offered() -> list[str]:
        page = soup(editor.get(f"/admin/incidents/{incident}"))
        return [str(r["value"]) for r in page.select("#post-h ~ form input[name=status]")]

    assert offered() == ["investigating", "identified", "monitoring", "resolved"]
    staff.post(f"/api/v1/incidents/{incident}/updates", json={"status": "resolved", "body": "Ok"})
    assert offered() == ["resolved"]


def test_a_new_incident_can_be_back_dated(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    form = soup(editor.get("/admin/incidents/new"))
    assert form.select_one("input[name=started_at][type=datetime-local]") is not None
    assert form.select_one("input[name=display_at][type=datetime-local]") is not None
    data = {"name": "Delays", "status": "investigating", "body": "Looking.", "notify": "on"}
    unreadable = post_form(editor, "/admin/incidents/new", {**data, "started_at": "yesterday"})
    assert unreadable.status_code == 422
    assert "like 2025-09-07" in field_error(soup(unreadable), "started_at")
    future = post_form(editor, "/admin/incidents/new", {**data, "display_at": "2025-09-08T11:00"})
    assert future.status_code == 422
    assert "future" in field_error(soup(future), "display_at")
    opened = post_form(
        editor,
        "/admin/incidents/new",
        {**data, "started_at": "2025-09-07T08:15", "display_at": "2025-09-07T08:40",
         "backfilled": "on"},
        follow_redirects=False,
    )  # fmt: skip
    assert opened.status_code == 303, opened.text
    incident_id = opened.headers["location"].split("?")[0].rsplit("/", 1)[1]
    with unit_of_work(engine) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.backfilled
        assert incident.started_at == datetime(2025, 9, 7, 6, 15, tzinfo=UTC)  # Oslo is UTC+2
    (update,) = staff.get(f"/api/v1/incidents/{incident_id}").json()["incident_updates"]
    assert datetime.fromisoformat(update["display_at"]) == datetime(2025, 9, 7, 6, 40, tzinfo=UTC)
    assert _events(engine) == 0  # backfilled: nobody is told


def test_delete_is_offered_only_where_it_is_allowed(signed_in: SignIn, staff: TestClient) -> None:
    incident = open_incident(staff)["id"]
    admin = signed_in(UserRole.admin)

    def offered() -> list[str]:
        page = soup(admin.get(f"/admin/incidents/{incident}"))
        return [str(a["href"]).split("/")[-2] for a in page.select('a[href$="/delete"]')[1:]]

    assert offered() == []  # the only update can't go
    first = staff.get(f"/api/v1/incidents/{incident}").json()["incident_updates"][0]["id"]
    staff.post(
        f"/api/v1/incidents/{incident}/updates", json={"status": "identified", "body": "Found."}
    )
    assert offered() == [first]  # not the update that made it "identified"


def test_the_postmortem_editor_previews_the_saved_draft_on_load(
    signed_in: SignIn, staff: TestClient
) -> None:
    incident = open_incident(staff)["id"]
    editor = signed_in(UserRole.editor)
    page = f"/admin/incidents/{incident}/postmortem"
    empty = soup(editor.get(page)).select_one("#live-preview")
    assert empty is not None and "Nothing written yet" in empty.get_text()
    staff.put(
        f"/api/v1/incidents/{incident}/postmortem",
        json={"body": "## Root cause\n\nTwo consumers **stalled**."},
    )
    preview = soup(editor.get(page)).select_one("#live-preview")  # no key pressed, no Preview
    assert preview is not None
    heading = preview.select_one("h4")  # the public page's heading level
    assert heading is not None and heading.get_text() == "Root cause"
    assert preview.select_one("strong") is not None


def _template(editor: TestClient, component_id: str) -> str:
    created = post_form(
        editor,
        "/admin/templates",
        {"name": "OCPP delays", "title": "Delays in charger messages", "status": "identified",
         "body": "Messages from chargers are delayed.",
         f"component.{component_id}": "partial_outage"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    option = soup(editor.get("/admin/incidents/new")).select_one("#f-template option[value!='']")
    assert option is not None
    return str(option["value"])


def test_applying_a_template_is_explicit_and_keeps_typing(
    signed_in: SignIn, staff: TestClient, engine: Engine
) -> None:
    ocpp = make_component(staff, name="OCPP")["id"]
    app_ = make_component(staff, name="App")["id"]
    editor = signed_in(UserRole.editor)
    template = _template(editor, ocpp)
    form = soup(editor.get("/admin/incidents/new"))
    picker = form.select_one("#f-template")
    assert picker is not None and picker.find_parent("form")["action"] == "/admin/incidents/new"  # type: ignore[index]
    assert form.select("#f-template option[selected]") == []  # nothing looks applied
    # Enter in a field opens the incident: the form's first submit button does that
    first = form.select_one("form[action='/admin/incidents/new'] button[type=submit]")
    assert first is not None and first.get("formaction") is None
    apply = form.select_one("button[formaction='/admin/incidents/new/template']")
    assert apply is not None and apply.get_text() == "Apply template"
    # submitting without applying opens nothing from the template: the fields are just empty
    empty = post_form(
        editor, "/admin/incidents/new", {"template": template, "status": "investigating"}
    )
    assert empty.status_code == 422
    assert field_error(soup(empty), "name") == "This can't be empty."

    typed = {
        "template": template,
        "name": "",
        "status": "investigating",
        "body": "Chargers in Oslo can't start sessions.",
        f"component.{app_}": "major_outage",
        "notify": "on",
    }
    applied = post_form(editor, "/admin/incidents/new/template", typed)
    assert applied.status_code == 200
    page = soup(applied)
    assert page.select_one("[name=name]")["value"] == "Delays in charger messages"  # type: ignore[index]
    assert page.select_one("textarea[name=body]").get_text() == typed["body"]  # type: ignore[union-attr]
    assert "Kept what you typed in: Message" in page.get_text()
    assert page.select_one("input[name=status][value=identified]").has_attr("checked")  # type: ignore[union-attr]
    chosen = {
        str(s["name"]): str(o["value"])
        for s in page.select("select[name^='component.']")
        for o in s.select("option[selected]")
    }
    assert chosen == {f"component.{ocpp}": "partial_outage", f"component.{app_}": "major_outage"}
    assert page.select_one("#f-template option[selected]")["value"] == template  # type: ignore[index]
    assert _events(engine) == 0  # applying opens nothing
    missing = post_form(editor, "/admin/incidents/new/template", {**typed, "template": ""})
    assert missing.status_code == 422
    assert field_error(soup(missing), "template") == "Choose a template to apply."
    assert soup(missing).select_one("textarea[name=body]").get_text() == typed["body"]  # type: ignore[union-attr]
