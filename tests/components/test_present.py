"""The page's components as JSON, built straight from the rows, equal Statuspage's model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.components.present import in_page_order, present_components, public_json
from app.models import Component, ComponentStatus

T0 = datetime(2025, 3, 30, 0, 59, 59, 123456, tzinfo=UTC)  # an hour before Oslo's DST change


def page() -> list[Component]:
    group = Component(
        id="grp", name="Europe", is_group=True, position=2, created_at=T0, updated_at=T0
    )
    a = Component(
        id="a",
        name="OCPP gateway",
        description="Chargers' link",
        group_id="grp",
        position=1,
        status=ComponentStatus.partial_outage,
        start_date=date(2024, 2, 29),
        created_at=T0,
        updated_at=T0 + timedelta(hours=2, microseconds=1),
    )
    b = Component(
        id="b",
        name="Payments",
        group_id="grp",
        position=2,
        status=ComponentStatus.degraded_performance,
        only_show_if_degraded=True,
        showcase=False,
        created_at=T0,
        updated_at=T0 + timedelta(days=1),
    )
    top = Component(id="top", name="API", position=1, created_at=T0, updated_at=T0)
    empty = Component(
        id="empty", name="Asia", is_group=True, position=3, created_at=T0, updated_at=T0
    )
    orphan = Component(id="orphan", name="Lost", group_id="gone", created_at=T0, updated_at=T0)
    return [top, a, b, group, empty, orphan]


def test_public_json_is_the_model_dumped() -> None:
    for tz in (UTC, ZoneInfo("Europe/Oslo"), ZoneInfo("America/St_Johns")):
        models = present_components(page(), page_id="p1", tz=tz)
        assert public_json(page(), page_id="p1", tz=tz) == [
            m.model_dump(mode="json") for m in models
        ]
        # the same keys in the same order: the JSON answers keep the model's field order
        assert [list(d) for d in public_json(page(), page_id="p1", tz=tz)] == [
            list(m.model_dump(mode="json")) for m in models
        ]


def test_in_page_order_lists_what_present_components_does() -> None:
    models = present_components(page(), page_id="")
    assert [(c.id, s) for c, s in in_page_order(page())] == [(m.id, m.status) for m in models]
    assert {c.id: s for c, s in in_page_order(page())}["grp"] == "partial_outage"
