"""The page itself, as every screen's frame shows it: its name, address and time zone."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings


@dataclass(frozen=True)
class PageInfo:
    """What every page's frame shows."""

    name: str
    url: str
    time_zone: str
    email: bool = False  # email subscriptions are offered (PHAROS_SMTP_URL and MAIL_FROM set)


def page_info(settings: Settings) -> PageInfo:
    """The frame's data."""
    return PageInfo(
        name=settings.page_name,
        url=settings.public_url,
        time_zone=settings.timezone,
        email=settings.email_enabled,
    )
