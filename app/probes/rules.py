"""Hysteresis: when a stream of probe results becomes a problem, changes, or is over.

Pure functions over a probe's counters, so the rules are tested without a network or a
database. Counters live in the probe_state row, so a new leader carries on where the old one
stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.models import ComponentStatus

OK = ComponentStatus.operational


class Decision(StrEnum):
    """What a result means for the component and its incident."""

    none = "none"
    open = "open"  # a problem is confirmed
    change = "change"  # a confirmed problem changed severity
    recover = "recover"  # the problem is over


@dataclass(frozen=True)
class Thresholds:
    """How many results in a row it takes to act (Gatus' defaults: 3 and 2)."""

    failures_to_open: int = 3
    successes_to_recover: int = 2
    failing_for: timedelta | None = None


@dataclass
class Counters:
    """A probe's hysteresis state (the matching probe_state columns)."""

    active: ComponentStatus = OK
    failures: int = 0
    successes: int = 0
    failing_since: datetime | None = None
    pending: ComponentStatus | None = None
    pending_count: int = 0


def observe(c: Counters, status: ComponentStatus, at: datetime, rule: Thresholds) -> Decision:
    """Fold one result into the counters and say whether to act.

    A problem opens after `failures_to_open` unhealthy results in a row (or once unhealthy for
    `failing_for`), with the latest result's status. While open, a different status must also
    hold for `failures_to_open` results before the severity changes; `successes_to_recover`
    healthy results in a row end it. A single failure between successes never opens anything.
    """
    if status == OK:
        c.failures, c.failing_since = 0, None
        c.pending, c.pending_count = None, 0
        c.successes += 1
        if c.active != OK and c.successes >= rule.successes_to_recover:
            c.active = OK
            return Decision.recover
        return Decision.none
    c.successes = 0
    c.failures += 1
    if c.failing_since is None:
        c.failing_since = at
    if c.active == OK:
        long_enough = rule.failing_for is not None and at - c.failing_since >= rule.failing_for
        if c.failures >= rule.failures_to_open or long_enough:
            c.active = status
            c.pending, c.pending_count = None, 0
            return Decision.open
        return Decision.none
    if status == c.active:
        c.pending, c.pending_count = None, 0
        return Decision.none
    if status == c.pending:
        c.pending_count += 1
    else:
        c.pending, c.pending_count = status, 1
    if c.pending_count >= rule.failures_to_open:
        c.active = status
        c.pending, c.pending_count = None, 0
        return Decision.change
    return Decision.none


def still_to_confirm(c: Counters, rule: Thresholds) -> int:
    """How many more results in a row the decision under way needs (0: nothing under way).

    A first failure needs `failures_to_open - 1` more to open; a first success during a
    problem needs `successes_to_recover - 1` more to recover; a new severity needs
    `failures_to_open - 1` more to change. The runner runs these as quick re-probes.
    """
    if c.active == OK:
        return max(rule.failures_to_open - c.failures, 0) if c.failures else 0
    if c.successes:
        return max(rule.successes_to_recover - c.successes, 0)
    if c.pending is not None:
        return max(rule.failures_to_open - c.pending_count, 0)
    return 0
