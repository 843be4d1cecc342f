"""Hysteresis rules, without network or database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.models import ComponentStatus
from app.probes.rules import Counters, Decision, Thresholds, observe

OK = ComponentStatus.operational
MAJOR = ComponentStatus.major_outage
PARTIAL = ComponentStatus.partial_outage
SLOW = ComponentStatus.degraded_performance
T0 = datetime(2025, 9, 7, 9, 0, tzinfo=UTC)
DEFAULTS = Thresholds()


def feed(statuses: list[ComponentStatus], rule: Thresholds = DEFAULTS) -> list[Decision]:
    counters = Counters()
    return [
        observe(counters, s, T0 + timedelta(seconds=15 * i), rule) for i, s in enumerate(statuses)
    ]


def test_three_failures_in_a_row_open_and_two_successes_recover() -> None:
    decisions = feed([MAJOR, MAJOR, MAJOR, MAJOR, OK, OK, OK])
    assert decisions == ["none", "none", "open", "none", "none", "recover", "none"]


def test_isolated_failures_never_open() -> None:
    assert set(feed([MAJOR, OK, MAJOR, MAJOR, OK, SLOW, PARTIAL, OK] * 20)) == {"none"}


def test_random_one_in_twenty_failures_open_only_after_three_in_a_row() -> None:
    rng = random.Random(7)
    statuses = [MAJOR if rng.random() < 0.05 else OK for _ in range(2000)]
    decisions = feed(statuses)
    opened = [i for i, d in enumerate(decisions) if d == Decision.open]
    assert statuses.count(MAJOR) > 50
    assert all(statuses[i - 2 : i + 1] == [MAJOR] * 3 for i in opened)
    triples = [i for i in range(2, len(statuses)) if statuses[i - 2 : i + 1] == [MAJOR] * 3]
    assert len(opened) <= len(triples)


def test_mixed_failures_count_together_and_open_with_the_latest_status() -> None:
    counters = Counters()
    rule = Thresholds()
    for status in (MAJOR, SLOW, PARTIAL):
        decision = observe(counters, status, T0, rule)
    assert decision == Decision.open and counters.active == PARTIAL


def test_a_severity_change_must_hold_before_it_is_posted() -> None:
    decisions = feed([SLOW, SLOW, SLOW, MAJOR, SLOW, MAJOR, MAJOR, MAJOR, MAJOR])
    assert decisions == ["none", "none", "open", "none", "none", "none", "none", "change", "none"]


def test_recovery_needs_successes_in_a_row() -> None:
    decisions = feed([MAJOR, MAJOR, MAJOR, OK, MAJOR, OK, MAJOR, OK, OK])
    assert decisions.count(Decision.recover) == 1 and decisions[-1] == Decision.recover


def test_failing_for_opens_on_duration_too() -> None:
    rule = Thresholds(failures_to_open=10, failing_for=timedelta(seconds=40))
    counters = Counters()
    decisions = [observe(counters, MAJOR, T0 + timedelta(seconds=s), rule) for s in (0, 20, 30, 45)]
    assert decisions == ["none", "none", "none", "open"]


def test_thresholds_are_configurable() -> None:
    rule = Thresholds(failures_to_open=1, successes_to_recover=3)
    assert feed([MAJOR, OK, OK, OK], rule) == ["open", "none", "none", "recover"]
