"""Sign-in lock-out under parallel tries: each try is counted before its password is checked,
so a dozen simultaneous wrong passwords check at most the limit (PostgreSQL raced past it)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import create_db_engine, unit_of_work
from app.models import LoginAttempt
from app.users import sessions
from tests.conftest import FakeClock

TRIES = 12


def race(attempt: Callable[[int], None], tries: int) -> None:
    """Run attempt(0) ... attempt(tries - 1) in parallel threads and wait for all of them."""
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_parallel_wrong_passwords_check_no_more_than_the_limit(
    engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    now = clock()
    start = threading.Barrier(TRIES)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        with unit_of_work(engine) as session:  # as the sign-in handler: a refusal commits
            try:
                sessions.sign_in(
                    session,
                    email="ann@example.com",
                    password=f"wrong-{n}",
                    ip=f"198.51.100.{n % 2}",  # two addresses: the account limit is the one hit
                    settings=settings,
                    now=now,
                )
            except sessions.LockedOut:
                outcomes.append("locked")
            except sessions.SignInRefused:
                outcomes.append("refused")

    race(attempt, TRIES)
    with unit_of_work(engine) as session:
        checked = len(session.exec(select(LoginAttempt)).all())
    assert outcomes.count("refused") == checked == settings.admin_login_max_failures
    assert outcomes.count("locked") == TRIES - settings.admin_login_max_failures


def test_parallel_tries_from_one_address_check_no_more_than_its_limit(
    engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"admin_login_ip_max_failures": 4})
    limit = settings.admin_login_ip_max_failures
    tries = limit + 8
    now = clock()
    start = threading.Barrier(tries)
    refused: list[int] = []

    def attempt(n: int) -> None:
        start.wait()
        with unit_of_work(engine) as session:
            try:
                sessions.sign_in(
                    session,
                    email=f"user{n}@example.com",  # every account once: the address limit bites
                    password="wrong",
                    ip="203.0.113.9",
                    settings=settings,
                    now=now,
                )
            except sessions.LockedOut:
                pass
            except sessions.SignInRefused:
                refused.append(n)

    race(attempt, tries)
    assert len(refused) == limit


def test_two_replicas_share_one_lock_out(
    engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    """Two replicas (two engines, two connection pools) on one database: the account's limit is
    counted once for both, in the database, even with their tries in parallel."""
    other = create_db_engine(settings.database_url)
    now = clock()
    start = threading.Barrier(TRIES)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        with unit_of_work((engine, other)[n % 2]) as session:
            try:
                sessions.sign_in(
                    session,
                    email="ann@example.com",
                    password="wrong",
                    ip=f"198.51.100.{n}",
                    settings=settings,
                    now=now,
                )
            except sessions.LockedOut:
                outcomes.append("locked")
            except sessions.SignInRefused:
                outcomes.append("refused")

    try:
        race(attempt, TRIES)
    finally:
        other.dispose()
    assert outcomes.count("refused") == settings.admin_login_max_failures
    assert outcomes.count("locked") == TRIES - settings.admin_login_max_failures
