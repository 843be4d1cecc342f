"""The ocpi probe against a real OCPI 2.2.1 peer on loopback: the credentials handshake, full
and incremental reads with pagination, pushes to our receiver, and the endpoint's failures
turned into an incident through the probes' hysteresis."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import unit_of_work
from app.fleet import probe as probe_module
from app.fleet import store
from app.fleet.config import FleetConfigError
from app.fleet.credentials import seal, unseal
from app.fleet.ocpi import read_token
from app.fleet.probe import OcpiPoller
from app.models import (
    Component,
    EvseStatusChange,
    FleetArea,
    FleetEvse,
    FleetLocation,
    FleetPeer,
    Incident,
    ProbeState,
)
from app.probes.runner import ProbeRunner, probe_client
from peers.net import free_port
from peers.ocpi import Cpo, decode_token, encode_token, make_location, serve
from tests.conftest import FakeClock
from tests.fleet.helpers import ocpi_probe, run_once, seed, serve_pharos, transactions

T0 = datetime(2025, 9, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def cpo() -> Iterator[Cpo]:
    peer = Cpo(page_limit=3)
    seed(peer, T0, cities={"Oslo": 4, "Bergen": 3})
    with serve(peer):
        yield peer


def evses(session: Session) -> dict[str, str]:
    return {e.uid: e.status for e in session.exec(select(FleetEvse))}


def history(session: Session, uid: str) -> list[str]:
    evse = session.exec(select(FleetEvse).where(FleetEvse.uid == uid)).one()
    rows = session.exec(
        select(EvseStatusChange)
        .where(EvseStatusChange.evse_id == evse.id)
        .order_by(col(EvseStatusChange.at), col(EvseStatusChange.id))
    )
    return [r.status for r in rows]


def test_the_token_header_is_base64_as_221_asks() -> None:
    assert encode_token("example-token") == "Token ZXhhbXBsZS10b2tlbg=="
    assert read_token("Token ZXhhbXBsZS10b2tlbg==") == "example-token"
    assert read_token("Token plain-2.1.1-token") == "plain-2.1.1-token"
    assert read_token("Bearer x") is None
    assert decode_token("Token !!") is None


def test_handshake_then_full_read_across_pages(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    token_a = cpo.token_a
    probe = ocpi_probe(cpo)
    run = run_once(OcpiPoller(engine, settings, clock=clock), probe)
    assert run.ok, run.evidence()
    assert [c.name for c in run.checks] == ["endpoints", "credentials", "endpoints", "locations"]
    assert "7 locations (full read)" in run.checks[-1].detail
    # Token A registered us once; everything after used the Token C the platform issued.
    posts = [entry for entry in cpo.log if entry[0] == "POST"]
    assert len(posts) == 1
    pages = [entry for entry in cpo.log if entry[1].endswith("/locations")]
    assert len(pages) == 3  # 7 locations, 3 a page, followed by Link
    assert "offset=3" in pages[1][2] and "offset=6" in pages[2][2]
    with unit_of_work(engine) as session:
        peer = session.get(FleetPeer, "roaming")
        # Token C is kept encrypted (we must send it back, so it can't be a hash).
        assert peer is not None and peer.token_c and peer.token_c.startswith("fernet:")
        assert not any(token in peer.token_c for token in cpo.tokens_c)
        assert unseal(peer.token_c, settings.secret_key.get_secret_value()) in cpo.tokens_c  # type: ignore[union-attr]
        assert token_a not in cpo.tokens_c
        assert (peer.country_code, peer.party_id) == ("NO", "ZAP")
        assert peer.token_b_hash and cpo.client_token_b and peer.token_b_hash != cpo.client_token_b
        assert len(evses(session)) == 14 and set(evses(session).values()) == {"AVAILABLE"}
        assert session.get(FleetLocation, ("roaming", "OSL-1")) is not None
        assert session.get(FleetLocation, ("roaming", "BER-3")).city == "Bergen"  # type: ignore[union-attr]
    # Token A is spent: a second handshake would fail, and none is attempted.
    cpo.log.clear()
    assert run_once(OcpiPoller(engine, settings, clock=clock), probe).ok
    assert not [entry for entry in cpo.log if entry[0] == "POST"]


def test_a_read_is_stored_a_few_locations_per_transaction(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Other writers (pushes, staff) wait for SQLite's write lock while a transaction holds it:
    # a full read of thousands of EVSEs must not be one transaction.
    monkeypatch.setattr(probe_module, "READ_CHUNK", 2)
    with transactions() as seen:
        assert run_once(OcpiPoller(engine, settings, clock=clock), ocpi_probe(cpo)).ok
    chunks = seen.writing("fleet_evse")
    assert len(chunks) == 4  # 7 locations, 2 at a time
    with unit_of_work(engine) as session:
        assert len(evses(session)) == 14
        assert session.get(FleetPeer, "roaming").synced_to is not None  # type: ignore[union-attr]


def test_other_writers_get_in_between_a_reads_transactions(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite a waiting writer polls for the lock; the read must leave it a turn between its
    # transactions, not take the lock straight back.
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    monkeypatch.setattr(probe_module, "READ_CHUNK", 2)
    apply_locations = store.apply_locations
    first_chunk = threading.Event()

    def slow(*args: Any, **kwargs: Any) -> store.Applied:
        done = apply_locations(*args, **kwargs)
        first_chunk.set()  # the other writer starts waiting for the lock now
        time.sleep(0.4)  # a chunk of a big read holds the lock a while: waiters poll slowly
        return done

    monkeypatch.setattr(store, "apply_locations", slow)
    commits: list[str] = []

    def committed(_conn: object) -> None:
        commits.append(threading.current_thread().name)

    def other() -> None:
        first_chunk.wait(10)
        with unit_of_work(engine) as session:
            session.add(
                FleetArea(
                    name="Elsewhere",
                    rule={"name": "Elsewhere", "component": "Elsewhere", "cities": ["Nowhere"]},
                    updated_at=clock(),
                )
            )

    sa.event.listen(engine, "commit", committed)
    writer = threading.Thread(target=other, name="other")
    writer.start()
    try:
        assert run_once(OcpiPoller(engine, settings, clock=clock), ocpi_probe(cpo)).ok
    finally:
        writer.join(10)
        sa.event.remove(engine, "commit", committed)
    assert "other" in commits
    # It got in while the read (4 transactions of 2 locations, then the judging) went on.
    assert len(commits) - commits.index("other") - 1 >= 2, commits


def test_incremental_reads_ask_for_changes_since_the_last_read(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    poller = OcpiPoller(engine, settings, clock=clock)
    probe = ocpi_probe(cpo)
    assert run_once(poller, probe).ok
    cpo.log.clear()
    changed = datetime.now(UTC) + timedelta(seconds=5)
    cpo.set_status("OSL-2", "OSL-2-1", "OUTOFORDER", changed)
    clock.advance(minutes=1)
    with transactions() as seen:
        run = run_once(poller, probe)
    assert run.ok, run.evidence()
    # OSL-2 comes back whole; only the EVSE that changed is written (one row).
    assert [[rows for _, rows in t] for t in seen.writing("fleet_evse")] == [[1]]
    pages = [entry for entry in cpo.log if entry[1].endswith("/locations")]
    assert len(pages) == 1 and "date_from=" in pages[0][2]
    assert "1 locations (changes since" in run.checks[-1].detail
    with unit_of_work(engine) as session:
        assert evses(session)["OSL-2-1"] == "OUTOFORDER"
        assert history(session, "OSL-2-1") == ["AVAILABLE", "OUTOFORDER"]
        assert history(session, "OSL-2-2") == ["AVAILABLE"]
    # After full_read_every, a full read again (no date_from); what it repeats is not written.
    cpo.log.clear()
    clock.advance(hours=2)
    with transactions() as seen:
        assert run_once(poller, probe).ok
    pages = [entry for entry in cpo.log if entry[1].endswith("/locations")]
    assert len(pages) == 3 and "date_from" not in pages[0][2]
    assert seen.writing("fleet_evse") == []
    # ... and is compared in one query of plain rows, not loaded location by location.
    looked = [
        sql
        for statements in seen.committed
        for sql, _ in statements
        if sql.startswith("SELECT") and "FROM fleet_evse" in sql and "GROUP BY" not in sql
    ]
    assert len(looked) == 1, looked


def test_without_a_secret_key_no_token_c_is_stored(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    keyless = settings.model_copy(update={"secret_key": None})
    run = run_once(OcpiPoller(engine, keyless, clock=clock), ocpi_probe(cpo))
    assert not run.ok
    assert run.checks[-1].error_class == "config"
    assert "PHAROS_SECRET_KEY" in (run.checks[-1].detail or "")
    with unit_of_work(engine) as session:
        assert session.get(FleetPeer, "roaming").token_c is None  # type: ignore[union-attr]


def test_a_token_c_stored_before_encryption_still_works(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    poller = OcpiPoller(engine, settings, clock=clock)
    assert run_once(poller, ocpi_probe(cpo)).ok
    (token_c,) = cpo.tokens_c
    with unit_of_work(engine) as session:  # as an older Pharos kept it
        peer = session.get(FleetPeer, "roaming")
        assert peer is not None
        peer.token_c = token_c
        session.add(peer)
    cpo.log.clear()
    assert run_once(poller, ocpi_probe(cpo)).ok
    assert [e for e in cpo.log if e[1].endswith("/locations")]
    assert not [e for e in cpo.log if e[0] == "POST"]
    # The wrong key can't read an encrypted one: a clear failure, no handshake with a spent A.
    with unit_of_work(engine) as session:
        peer = session.get(FleetPeer, "roaming")
        assert peer is not None
        peer.token_c = seal(token_c, "another key")
        session.add(peer)
    run = run_once(poller, ocpi_probe(cpo))
    assert not run.ok and "does not decrypt" in (run.checks[-1].detail or "")


def test_urls_the_platform_hands_out_go_through_the_pinned_client(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    # Staff configured 127.0.0.1; the platform hands out URLs on another host ("localhost",
    # which resolves to loopback): the pinned client refuses a private address there.
    cpo.hand_out_host = "localhost"
    run = run_once(OcpiPoller(engine, settings, clock=clock), ocpi_probe(cpo))
    assert not run.ok
    assert run.checks[-1].error_class == "connect_error"
    assert "refused: localhost resolves to non-public" in (run.checks[-1].detail or "")
    assert [e[1] for e in cpo.log] == ["/ocpi/versions"]  # nothing reached on the other host
    # Where the operator allows private networks, the same platform is read.
    allowed = settings.model_copy(update={"ocpi_allow_private": True})
    run = run_once(OcpiPoller(engine, allowed, clock=clock), ocpi_probe(cpo))
    assert run.ok, run.evidence()


def test_a_registered_token_c_can_be_configured_directly(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    cpo.tokens_c.add("C-configured")
    probe = ocpi_probe(cpo, token="C-configured", handshake=False)
    run = run_once(OcpiPoller(engine, settings, clock=clock), probe)
    assert run.ok, run.evidence()
    assert not [entry for entry in cpo.log if entry[0] == "POST"]


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [("auth", "auth_failed"), ("5xx", "http_503"), ("unreachable", "connect_error")],
)
def test_a_failing_endpoint_is_a_failed_run(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock, fault: str, error_class: str
) -> None:
    poller = OcpiPoller(engine, settings, clock=clock)
    probe = ocpi_probe(cpo)
    assert run_once(poller, probe).ok
    if fault == "auth":
        cpo.reject_all = True
    elif fault == "5xx":
        cpo.fail_5xx = 100
    else:
        probe = ocpi_probe(cpo, versions_url=f"http://127.0.0.1:{free_port()}/ocpi/versions")
        with unit_of_work(engine) as session:  # forget the endpoints: discovery must run
            peer = session.get(FleetPeer, "roaming")
            assert peer is not None
            peer.endpoints = {}
    run = run_once(poller, probe)
    assert not run.ok
    assert run.status == "major_outage" and run.problem == "down"
    assert run.error_classes == [error_class]


def test_a_slow_endpoint_is_slow(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    cpo.delay = 0.15
    run = run_once(OcpiPoller(engine, settings, clock=clock), ocpi_probe(cpo, slow="100ms"))
    assert run.status == "degraded_performance" and run.problem == "slow"


def test_refused_token_opens_one_incident_through_the_hysteresis(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    probe = ocpi_probe(cpo, failures_to_open=3)
    runner = ProbeRunner(engine, settings, [probe], clock=clock)
    runner.prepare()

    async def rounds(n: int) -> None:
        async with probe_client() as http:
            for _ in range(n):
                await runner.run_probe(probe, http)
                clock.advance(seconds=60)

    asyncio.run(rounds(1))
    cpo.reject_all = True
    asyncio.run(rounds(2))
    with unit_of_work(engine) as session:
        assert session.exec(select(Incident)).all() == []  # two failures: not yet
    asyncio.run(rounds(2))
    with unit_of_work(engine) as session:
        incident = session.exec(select(Incident)).one()
        component = session.exec(select(Component).where(Component.name == "Roaming (OCPI)")).one()
        assert component.status == "major_outage"
        state = session.get(ProbeState, "roaming")
        assert state is not None and state.incident_id == incident.id
        assert state.last_error_classes == ["auth_failed"]
    cpo.reject_all = False
    asyncio.run(rounds(2))
    with unit_of_work(engine) as session:
        assert session.exec(select(Incident)).one().status == "monitoring"


def test_pushes_reach_the_receiver_with_token_b_only(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    with serve_pharos(settings) as url:
        here = settings.model_copy(update={"public_url": url})
        poller = OcpiPoller(engine, here, clock=clock)
        assert run_once(poller, ocpi_probe(cpo)).ok
        at = datetime.now(UTC) + timedelta(seconds=1)
        assert cpo.push_evse("BER-1", "BER-1-2", "CHARGING", at) == 200
        assert cpo.push_evse("BER-1", "BER-1-2", "OUTOFORDER", at + timedelta(seconds=1)) == 200
        # An older update arriving late changes nothing.
        assert cpo.push_evse("BER-1", "BER-1-2", "AVAILABLE", at - timedelta(seconds=30)) == 200
        cpo.add(make_location("TRD-1", city="Trondheim", evses=3, at=at))
        assert cpo.push_location("TRD-1") == 200
        # A stranger's token, and a location of another party, are refused.
        assert cpo.push_evse("BER-1", "BER-1-1", "OUTOFORDER", at, token="guess") == 401
        with httpx.Client(trust_env=False) as http:
            auth = {"Authorization": encode_token(cpo.client_token_b or "")}
            base = f"{url}/ocpi/2.2.1/locations"
            other = http.patch(
                f"{base}/SE/XYZ/BER-1/BER-1-1",
                json={"status": "OUTOFORDER", "last_updated": "2025-09-07T08:00:00Z"},
                headers=auth,
            )
            assert other.status_code == 403
            unknown = http.patch(
                f"{base}/NO/ZAP/NOPE/NOPE-1",
                json={"status": "OUTOFORDER", "last_updated": "2025-09-07T08:00:00Z"},
                headers=auth,
            )
            assert unknown.status_code == 404 and unknown.json()["status_code"] == 2003
            bad = http.patch(
                f"{base}/NO/ZAP/BER-1/BER-1-1",
                json={"status": "EXPLODED", "last_updated": "2025-09-07T08:00:00Z"},
                headers=auth,
            )
            assert bad.status_code == 400 and bad.json()["status_code"] == 2001
            got = http.get(f"{base}/NO/ZAP/BER-1", headers=auth).json()["data"]
            assert {e["uid"]: e["status"] for e in got["evses"]} == {
                "BER-1-1": "AVAILABLE",
                "BER-1-2": "OUTOFORDER",
            }
        with unit_of_work(engine) as session:
            assert history(session, "BER-1-2") == ["AVAILABLE", "CHARGING", "OUTOFORDER"]
            assert evses(session)["BER-1-1"] == "AVAILABLE"
            assert [e for e in evses(session) if e.startswith("TRD-1")] == [
                "TRD-1-1",
                "TRD-1-2",
                "TRD-1-3",
            ]


def test_the_fleet_file_sets_areas_and_a_read_judges_them(
    cpo: Cpo, settings: Settings, engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(
        '[[area]]\nname = "Oslo"\ncomponent = "Oslo chargers"\ncities = ["Oslo"]\n'
        "failures_to_open = 1\n"
    )
    here = settings.model_copy(update={"fleet_file": str(fleet_file)})
    for uid in ("OSL-1-1", "OSL-1-2", "OSL-2-1", "OSL-3-1"):
        cpo.set_status(uid[:5], uid, "OUTOFORDER", T0 + timedelta(minutes=1))
    assert run_once(OcpiPoller(engine, here, clock=clock), ocpi_probe(cpo)).ok
    with unit_of_work(engine) as session:
        assert [a.source for a in session.exec(select(FleetArea))] == ["file"]
        incident = session.exec(select(Incident)).one()
        assert (incident.chargers_affected, incident.chargers_total) == (4, 8)
        oslo = session.exec(select(Component).where(Component.name == "Oslo chargers")).one()
        assert oslo.status == "major_outage"
    fleet_file.write_text("[[area]]\nname = 'Oslo'\ncomponent = 'x'\n")
    with pytest.raises(FleetConfigError, match='area "Oslo"'):
        OcpiPoller(engine, here, clock=clock)


def test_a_big_page_is_read_whole(settings: Settings, engine: Engine, clock: FakeClock) -> None:
    # A page over BIG_BODY is parsed off the event loop; it must read the same.
    peer = Cpo(page_limit=2)
    seed(peer, T0, cities={"Drammen": 2}, evses=200)
    with serve(peer):
        run = run_once(OcpiPoller(engine, settings, clock=clock), ocpi_probe(peer))
    assert run.ok, run.evidence()
    assert "2 locations (full read)" in run.checks[-1].detail
    with unit_of_work(engine) as session:
        assert len(evses(session)) == 400
