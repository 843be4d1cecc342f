"""Sign-in lock-out under parallel tries: each try is counted before its password is checked,
so a dozen simultaneous wrong passwords check at most the limit (PostgreSQL raced past it)."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.models import LoginAttempt
from app.users import sessions
from tests.conftest import FakeClock

TRIES = 12


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

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(TRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == limit
