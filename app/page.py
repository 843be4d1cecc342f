"""The page itself, as every screen's frame shows it: its name, address and time zone."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.i18n import _


@dataclass(frozen=True)
class PageInfo:
    """What every page's frame shows."""

    name: str
    url: str
    time_zone: str
    email: bool = False  # email subscriptions are offered (PHAROS_SMTP_URL and MAIL_FROM set)
    title: str | None = None  # the brand's title, instead of "<name> Status"
    logo: str | None = None
    logo_dark: str | None = None
    favicon: str | None = None
    footer_links: tuple[tuple[str, str], ...] = ()
    brand_css: bool = False  # /brand.css has an accent colour or the operator's CSS

    @property
    def heading(self) -> str:
        """The page's title: the brand's, or "<name> Status" in the reader's language."""
        return self.title or _("%(name)s Status") % {"name": self.name}


def page_info(settings: Settings) -> PageInfo:
    """The frame's data."""
    return PageInfo(
        name=settings.page_name,
        url=settings.public_url,
        time_zone=settings.timezone,
        email=settings.email_enabled,
        title=settings.brand_title,
        logo=settings.brand_logo_url,
        logo_dark=settings.brand_logo_dark_url,
        favicon=settings.brand_favicon_url,
        footer_links=tuple(settings.footer_links),
        brand_css=bool(settings.brand_accent or settings.brand_css_file),
    )
