"""The probing lease: one row naming the replica that leads probing, and until when."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.models import ProbeLease

LEASE = "probes"


def try_lead(session: Session, *, holder: str, now: datetime, ttl: float) -> bool:
    """Take or renew the probing lease; True when this holder leads until now + ttl."""
    until = now + timedelta(seconds=ttl)
    lease = session.exec(
        select(ProbeLease).where(ProbeLease.name == LEASE).with_for_update()
    ).first()
    if lease is None:
        try:
            with session.begin_nested():  # another replica may insert it first
                session.add(
                    ProbeLease(name=LEASE, holder=holder, expires_at=until, acquired_at=now)
                )
        except IntegrityError:
            return False
        return True
    if lease.holder != holder and lease.expires_at > now:
        return False
    if lease.holder != holder:
        lease.holder, lease.acquired_at = holder, now
    lease.expires_at = until
    session.add(lease)
    session.flush()
    return True


def release_lead(session: Session, *, holder: str, now: datetime) -> None:
    """Give the lease up at once (clean shutdown) so another replica takes over."""
    lease = session.exec(
        select(ProbeLease).where(ProbeLease.name == LEASE).with_for_update()
    ).first()
    if lease is not None and lease.holder == holder:
        lease.expires_at = now
        session.add(lease)
        session.flush()
