"""The admin UI's fleet areas: staff list, create, edit and delete areas, validated as the
staff API validates them; viewers read; the fleet file's areas are read-only."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.db import unit_of_work
from app.fleet import areas, store
from app.fleet.config import AreaRule
from app.models import AuditEvent, UserRole
from peers.ocpi import make_location
from tests.admin.conftest import SignIn, csrf, field_error, post_form, soup
from tests.conftest import FakeClock

T0 = datetime(2025, 9, 7, 8, 0, tzinfo=UTC)


def stored(engine: Engine, name: str) -> AreaRule:
    with unit_of_work(engine) as session:
        return areas.get_area(session, name)


def form(**overrides: str) -> dict[str, str]:
    found = {
        "_form": "area",
        "name": "Oslo",
        "component": "Oslo chargers",
        "cities": "Oslo, Bærum",
        "degraded": "0.1",
        "partial": "0.25",
        "major": "0.5",
        "min_failing": "2",
        "extra": "failures_to_open = 2\n",
    }
    found.update(overrides)
    return found


def test_editors_manage_an_area_from_the_admin_ui(
    signed_in: SignIn, engine: Engine, clock: FakeClock
) -> None:
    with unit_of_work(engine) as session:
        evses = [make_location("OSL-1", city="Oslo", evses=4, at=T0)]
        evses[0]["evses"][0]["status"] = "OUTOFORDER"
        store.apply_locations(session, "roaming", evses, now=clock())
    editor = signed_in(UserRole.editor)
    created = post_form(editor, "/admin/fleet/areas", form(), follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/admin/fleet/areas/Oslo?done=saved"
    (row,) = soup(editor.get("/admin/fleet/areas")).select("table.area-list tbody tr")
    text = row.get_text(" ", strip=True)
    assert "Oslo chargers" in text and "Cities: Oslo, Bærum" in text and "1 of 4" in text
    # What the form saved is the rule the staff API and the roll-up read.
    saved_rule = stored(engine, "Oslo")
    assert saved_rule.cities == ["Oslo", "Bærum"]
    assert saved_rule.degraded == 0.1 and saved_rule.failures_to_open == 2

    page = soup(editor.get("/admin/fleet/areas/Oslo"))
    extra = page.select_one("textarea[name=extra]")
    assert extra is not None and "failures_to_open = 2" in extra.get_text()
    cities = page.select_one("input[name=cities]")
    assert cities is not None and cities["value"] == "Oslo, Bærum"
    saved = post_form(
        editor, "/admin/fleet/areas/Oslo", form(name="", cities="Oslo"), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert stored(engine, "Oslo").cities == ["Oslo"]

    asked = editor.get("/admin/fleet/areas/Oslo/delete")
    assert asked.status_code == 200 and "Delete area Oslo?" in asked.text
    gone = post_form(editor, "/admin/fleet/areas/Oslo/delete", {}, follow_redirects=False)
    assert gone.headers["location"] == "/admin/fleet/areas?done=deleted"
    assert editor.get("/admin/fleet/areas/Oslo").status_code == 404
    with unit_of_work(engine) as session:
        stmt = select(AuditEvent.action).where(col(AuditEvent.action).startswith("fleet_area."))
        assert list(session.exec(stmt.order_by(col(AuditEvent.at)))) == [
            "fleet_area.created",
            "fleet_area.updated",
            "fleet_area.deleted",
        ]


def test_a_bad_area_form_says_why_and_keeps_what_was_typed(
    signed_in: SignIn, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    upside_down = post_form(editor, "/admin/fleet/areas", form(degraded="0.6"))
    assert upside_down.status_code == 422
    page = soup(upside_down)
    assert "Thresholds must rise" in page.get_text()
    degraded = page.select_one("input[name=degraded]")
    assert degraded is not None and degraded["value"] == "0.6"
    too_much = soup(post_form(editor, "/admin/fleet/areas", form(major="1.5")))
    assert "less than or equal to 1" in field_error(too_much, "major")
    nowhere = post_form(editor, "/admin/fleet/areas", form(cities=""))
    assert nowhere.status_code == 422 and "Give at least one of" in nowhere.text
    slashed = soup(post_form(editor, "/admin/fleet/areas", form(name="a/b")))
    assert field_error(slashed, "name")
    broken = post_form(editor, "/admin/fleet/areas", form(extra="quiet_period = "))
    assert broken.status_code == 422 and "not valid TOML" in broken.text
    assert (
        post_form(editor, "/admin/fleet/areas", form(), follow_redirects=False).status_code == 303
    )
    again = post_form(editor, "/admin/fleet/areas", form())
    assert again.status_code == 409 and "exists already" in field_error(soup(again), "name")
    assert stored(engine, "Oslo").degraded == 0.1


def test_viewers_read_and_csrf_guards_the_forms(signed_in: SignIn) -> None:
    editor = signed_in(UserRole.editor)
    assert (
        post_form(editor, "/admin/fleet/areas", form(), follow_redirects=False).status_code == 303
    )
    viewer = signed_in(UserRole.viewer)
    listed = soup(viewer.get("/admin/fleet/areas"))
    assert "Oslo chargers" in listed.get_text()
    assert listed.select_one("form[action='/admin/fleet/areas']") is None
    assert soup(viewer.get("/admin/fleet/areas/Oslo")).select_one("textarea[name=extra]") is None
    assert post_form(viewer, "/admin/fleet/areas", form(name="Bergen")).status_code == 403
    assert post_form(viewer, "/admin/fleet/areas/Oslo/delete", {}).status_code == 403
    assert viewer.get("/admin/fleet/areas/Oslo/delete").status_code == 403
    token = csrf(editor)
    for path in ("/admin/fleet/areas", "/admin/fleet/areas/Oslo", "/admin/fleet/areas/Oslo/delete"):
        forms = soup(editor.get(path)).find_all("form", method="post")
        assert forms, path
        for found in forms:
            field = found.find("input", attrs={"name": "csrf_token"})
            assert field is not None and field["value"] == token, path
    # A post with a forged token goes back to the page, changing nothing.
    forged = editor.post(
        "/admin/fleet/areas/Oslo/delete",
        data={"csrf_token": "forged", "_back": "/admin/fleet/areas/Oslo"},
        follow_redirects=False,
    )
    assert forged.status_code == 303
    assert editor.get("/admin/fleet/areas/Oslo").status_code == 200


def test_the_fleet_files_areas_are_read_only(
    signed_in: SignIn, engine: Engine, clock: FakeClock
) -> None:
    rule = AreaRule(name="Bergen", component="Bergen chargers", cities=["Bergen"])
    with unit_of_work(engine) as session:
        areas.load_file_areas(session, [rule], now=clock())
    editor = signed_in(UserRole.editor)
    page = soup(editor.get("/admin/fleet/areas/Bergen"))
    assert page.select_one("form[action='/admin/fleet/areas/Bergen']") is None
    assert "change it there" in page.get_text()
    refused = post_form(editor, "/admin/fleet/areas/Bergen", form(name="", cities="Voss"))
    assert refused.status_code == 409
    assert post_form(editor, "/admin/fleet/areas/Bergen/delete", {}).status_code == 409
    assert stored(engine, "Bergen").cities == ["Bergen"]
