"""Fleet areas: which charging sites roll up into which component, and when their share of
failing chargers is a problem. Listed with their chargers now; staff create, edit and delete
their own (validated as the staff API /api/v1/fleet/areas validates them); the fleet file's
are shown read-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app import labels
from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Screen, Viewer, done
from app.admin.flow import FormState, confirmation, form_page, kept, submit
from app.admin.forms import FormValues
from app.errors import Conflict
from app.fleet import areas
from app.fleet.config import AreaRule
from app.fleet.rollup import count_areas, list_areas
from app.models import FleetArea, ProbeState

router = APIRouter(prefix=PREFIX, include_in_schema=False)
LISTS = ("countries", "cities", "operators", "location_ids", "peers")
NUMBERS = ("degraded", "partial", "major", "min_failing")
SIMPLE = ("name", "component", *NUMBERS)
DEFAULTS = FormValues.of(degraded="0.05", partial="0.2", major="0.5", min_failing="2")


@dataclass(frozen=True)
class AreaRow:
    """One area as the list shows it."""

    name: str
    component: str
    matches: str
    thresholds: str
    total: int
    failing: int
    status: str | None
    state_label: str
    source: str


def _rule(form: FormValues, name: str | None = None) -> AreaRule:
    """The area a form describes: its simple fields, lists, then the extra TOML; validated
    as the staff API validates a PUT (pydantic's errors land by their fields)."""
    table = views.toml_table(form.get("extra"))
    for field in SIMPLE:
        value = form.get(field).strip()
        if value:
            table[field] = value
    for field in LISTS:
        found = [v.strip() for v in form.get(field).replace("\n", ",").split(",") if v.strip()]
        if found:
            table[field] = found
    if name is not None:
        table["name"] = name
    return AreaRule.model_validate(table)


def _values(rule: AreaRule) -> FormValues:
    """A stored area as the form shows it."""
    dumped = rule.model_dump(mode="json", exclude={"kind"}, exclude_defaults=True)
    simple = {k: dumped.pop(k) for k in SIMPLE if k in dumped}
    lists = {k: ", ".join(dumped.pop(k)) for k in LISTS if k in dumped}
    fields: dict[str, Any] = {k: DEFAULTS.get(k) for k in NUMBERS}
    fields |= {"name": rule.name, "component": rule.component}
    fields |= {k: str(v) for k, v in simple.items()} | lists
    return FormValues.of(**fields, extra=views.toml_text(dumped))


def _rows(screen: Screen) -> list[AreaRow]:
    rules = list_areas(screen.session)
    rows = []
    for rule, count in zip(rules, count_areas(screen.session, rules), strict=True):
        state = screen.session.get(ProbeState, rule.state_name)
        row = screen.session.get(FleetArea, rule.name)
        status = state.active.value if state else None
        criteria = [
            f"{label}: {', '.join(values)}"
            for label, values in (
                ("Countries", rule.countries),
                ("Cities", rule.cities),
                ("Operators", rule.operators),
                ("Locations", rule.location_ids),
                ("Probes", rule.peers),
            )
            if values
        ]
        rows.append(
            AreaRow(
                name=rule.name,
                component=rule.component,
                matches="; ".join(criteria),
                thresholds=(
                    f"{rule.degraded:.0%} / {rule.partial:.0%} / {rule.major:.0%}, "
                    f"at least {rule.min_failing}"
                ),
                total=count.total,
                failing=count.failing,
                status=status,
                state_label=labels.component_status(status) if status else "Not judged yet",
                source=row.source if row else "staff",
            )
        )
    return rows


def _list_page(screen: Screen, shown: FormState) -> HTMLResponse:
    return form_page(
        screen, "admin/fleet_areas.html", shown, defaults=DEFAULTS, areas=_rows(screen)
    )


@router.get("/fleet/areas")
def area_list(screen: Viewer) -> HTMLResponse:
    """Every area with its chargers now, and the form to add one."""
    return _list_page(screen, kept(screen))


def _create(post: EditorPost) -> FleetArea:
    rule = _rule(post.form)
    if post.session.get(FleetArea, rule.name) is not None:
        raise Conflict(f"an area named {rule.name!r} exists already: edit it instead")
    return areas.put_area(post.session, rule, actor=post.actor, now=post.clock())


@router.post("/fleet/areas")
def create_area(post: EditorPost) -> Response:
    """Add an area; the next OCPI read judges it."""
    return submit(
        post,
        lambda: _create(post),
        field=lambda exc: "name" if "exists already" in exc.message else "_form",
        page=lambda shown: _list_page(post, shown),
        then=lambda area: done(f"{PREFIX}/fleet/areas/{area.name}", "saved"),
    )


def _area_page(screen: Screen, name: str, shown: FormState) -> HTMLResponse:
    rule = areas.get_area(screen.session, name)  # NotFound: 404
    row = next(r for r in _rows(screen) if r.name == name)
    return form_page(
        screen,
        "admin/fleet_area.html",
        shown,
        defaults=_values(rule),
        area=row,
        definition=views.toml_text(rule.model_dump(mode="json", exclude={"kind"})),
    )


@router.get("/fleet/areas/{name}")
def area_page(name: str, screen: Viewer) -> HTMLResponse:
    """One area: its chargers now and its rule, editable unless the fleet file sets it."""
    return _area_page(screen, name, kept(screen))


def _update(post: EditorPost, name: str) -> FleetArea:
    row = post.session.get(FleetArea, name)
    if row is not None and row.source == "file":
        raise Conflict("the fleet file sets this area: change it there")
    areas.get_area(post.session, name)  # NotFound
    return areas.put_area(post.session, _rule(post.form, name), actor=post.actor, now=post.clock())


@router.post("/fleet/areas/{name}")
def update_area(name: str, post: EditorPost) -> Response:
    """Save an area's changed rule."""
    return submit(
        post,
        lambda: _update(post, name),
        page=lambda shown: _area_page(post, name, shown),
        then=lambda _: done(f"{PREFIX}/fleet/areas/{name}", "saved"),
    )


def _delete_page(screen: Screen, name: str, refusal: FormState | None = None) -> HTMLResponse:
    areas.get_area(screen.session, name)  # NotFound
    return confirmation(screen, "admin/fleet_area_delete.html", refusal, name=name)


@router.get("/fleet/areas/{name}/delete")
def delete_area_form(name: str, screen: Editor) -> HTMLResponse:
    """Ask before deleting an area."""
    return _delete_page(screen, name)


def _delete(post: EditorPost, name: str) -> None:
    row = post.session.get(FleetArea, name)
    if row is not None and row.source == "file":
        raise Conflict("the fleet file sets this area: remove it there")
    areas.delete_area(post.session, name, actor=post.actor, now=post.clock())


@router.post("/fleet/areas/{name}/delete")
def delete_area(name: str, post: EditorPost) -> Response:
    """Delete an area (its component stays)."""
    return submit(
        post,
        lambda: _delete(post, name),
        page=lambda shown: _delete_page(post, name, shown),
        then=lambda _: done(f"{PREFIX}/fleet/areas", "deleted"),
    )
