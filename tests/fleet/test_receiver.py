"""Our Locations receiver interface below the EVSE: connector-level PUT and PATCH (OCPI 2.2.1
section 8.2.2), and whole Locations PUT at once written together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.config import Settings
from app.db import unit_of_work
from app.fleet.probe import OcpiPoller
from app.models import FleetEvse
from peers.ocpi import Cpo, encode_token, make_location, serve
from tests.conftest import FakeClock
from tests.fleet.helpers import ocpi_probe, run_once, seed, serve_pharos, transactions

T0 = datetime(2025, 9, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def pushing(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[tuple[Cpo, str]]:
    """A CPO registered with Pharos (on loopback) and read once: (the CPO, Pharos's URL)."""
    cpo = Cpo()
    seed(cpo, T0, cities={"Bergen": 2})
    with serve(cpo), serve_pharos(settings) as url:
        poller = OcpiPoller(engine, settings.model_copy(update={"public_url": url}), clock=clock)
        assert run_once(poller, ocpi_probe(cpo)).ok
        yield cpo, url


def evse(engine: Engine, uid: str) -> FleetEvse:
    with unit_of_work(engine) as session:
        return session.exec(select(FleetEvse).where(FleetEvse.uid == uid)).one()


def test_connector_pushes_keep_the_evse_power(pushing: tuple[Cpo, str], engine: Engine) -> None:
    cpo, _ = pushing
    at = datetime.now(UTC)
    assert evse(engine, "BER-1-1").max_power_kw == 150.0
    # A 22 kW three-phase connector added (power from 230 V x 32 A x 3 phases): the DC one
    # still decides.
    three_phase = {"power_type": "AC_3_PHASE", "max_voltage": 230, "max_amperage": 32}
    added = cpo.push_connector(
        "BER-1", "BER-1-1", "2", {"standard": "IEC_62196_T2"} | three_phase, at
    )
    assert added.status_code == 200, added.text
    assert set(evse(engine, "BER-1-1").connectors) == {"1", "2"}
    assert evse(engine, "BER-1-1").max_power_kw == 150.0
    # The DC connector derated to 20 kW by a PATCH: now the AC one is the most powerful.
    derated = cpo.push_connector(
        "BER-1",
        "BER-1-1",
        "1",
        {"max_electric_power": 20000},
        at + timedelta(seconds=1),
        patch=True,
    )
    assert derated.status_code == 200, derated.text
    assert evse(engine, "BER-1-1").max_power_kw == pytest.approx(22.08)
    assert evse(engine, "BER-1-1").connectors["1"]["power_type"] == "DC"  # a PATCH merges
    assert evse(engine, "BER-1-2").max_power_kw == 150.0  # the other EVSE is untouched


def test_connector_pushes_are_refused_clearly(pushing: tuple[Cpo, str], engine: Engine) -> None:
    cpo, url = pushing
    base = f"{url}/ocpi/2.2.1/locations/NO/ZAP"
    auth = {"Authorization": encode_token(cpo.client_token_b or "")}
    stamp = "2025-09-07T09:00:00Z"
    with httpx.Client(trust_env=False, timeout=10) as http:

        def send(method: str, path: str, body: object, **headers: str) -> httpx.Response:
            return http.request(method, f"{base}/{path}", json=body, headers=auth | headers)

        unknown_connector = send("PATCH", "BER-1/BER-1-1/9", {"last_updated": stamp})
        assert (unknown_connector.status_code, unknown_connector.json()["status_code"]) == (
            404,
            2003,
        )
        unknown_evse = send("PUT", "BER-1/NOPE/1", {"id": "1", "last_updated": stamp})
        assert unknown_evse.status_code == 404
        unknown_location = send("PUT", "NOPE/NOPE-1/1", {"id": "1", "last_updated": stamp})
        assert unknown_location.status_code == 404
        other_id = send("PUT", "BER-1/BER-1-1/1", {"id": "2", "last_updated": stamp})
        assert (other_id.status_code, other_id.json()["status_code"]) == (400, 2001)
        undated = send("PUT", "BER-1/BER-1-1/1", {"id": "1"})
        assert undated.status_code == 400
        bad_power = send(
            "PATCH", "BER-1/BER-1-1/1", {"max_electric_power": "lots", "last_updated": stamp}
        )
        assert (bad_power.status_code, bad_power.json()["status_code"]) == (400, 2001)
        stranger = send(
            "PUT",
            "BER-1/BER-1-1/1",
            {"id": "1", "last_updated": stamp},
            Authorization=encode_token("guess"),
        )
        assert stranger.status_code == 401
        elsewhere = http.put(
            f"{url}/ocpi/2.2.1/locations/SE/XYZ/BER-1/BER-1-1/1",
            json={"id": "1", "last_updated": stamp},
            headers=auth,
        )
        assert elsewhere.status_code == 403
    assert evse(engine, "BER-1-1").max_power_kw == 150.0  # nothing refused left a trace


def test_location_puts_arriving_together_are_written_together(
    pushing: tuple[Cpo, str], engine: Engine
) -> None:
    cpo, _ = pushing
    at = datetime.now(UTC)
    ids = [f"STV-{n}" for n in range(1, 9)]
    for location_id in ids:
        cpo.add(make_location(location_id, city="Stavanger", evses=3, at=at))
    with transactions() as seen:
        assert cpo.push_locations(ids) == [200] * 8
    assert len(seen.writing("fleet_location")) < 8
    with unit_of_work(engine) as session:
        stavanger = session.exec(select(FleetEvse).where(col(FleetEvse.location_id).in_(ids)))
        assert len(stavanger.all()) == 24
