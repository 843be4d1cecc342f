"""The page itself, as every screen's frame shows it: its name, address and time zone."""

from __future__ import annotations

from dataclasses import dataclass

from app.brand import Brand, effective
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


def page_info(settings: Settings, brand: Brand | None = None) -> PageInfo:
    """The frame's data; `brand` is the one staff set (app.brand.current), else configured."""
    if brand is None:
        brand = effective(settings, None)
    return PageInfo(
        name=settings.page_name,
        url=settings.public_url,
        time_zone=settings.timezone,
        email=settings.email_enabled,
        title=brand.title,
        logo=brand.logo_url,
        logo_dark=brand.logo_dark_url,
        favicon=brand.favicon_url,
        footer_links=brand.footer_links,
        brand_css=bool(brand.accent or brand.css),
    )
