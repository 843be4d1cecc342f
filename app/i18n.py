"""Languages: gettext catalogs through Babel, the reader's language, dates and numbers by CLDR.

The catalogs are the `.po` files under app/locale/<lang>/LC_MESSAGES/messages.po (README,
"Languages", says how to extract and update them). They are compiled in memory the first time a
language is used (Babel reads the .po and writes the .mo bytes into a buffer: a few
milliseconds), so no generated file is kept in the repository and no build step can be
forgotten.

The language of the work at hand lives in a context variable: the language middleware
(app/web/language.py) sets it per request; a job that writes for readers sets it with `using`.
Strings are marked with `_` (translated now) or `N_` (marked for extraction, translated where
they are shown).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE = "en"  # the language the strings are written in
# Shipped languages, in the order the language menu lists them (their own names are CLDR's).
LANGUAGES = ("en", "nb", "sv", "da", "fi", "de", "fr", "nl", "es")

_current: ContextVar[str] = ContextVar("pharos_language", default=SOURCE)


def current() -> str:
    """The language of the work at hand."""
    return _current.get()


def set_current(language: str) -> None:
    """Make `language` the language of this context (a request's task, a job's run)."""
    _current.set(language)


@contextmanager
def using(language: str) -> Iterator[None]:
    """Write in `language` within the block."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The compiled catalog of a shipped language (the source language needs none)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return GNUTranslations(buffer)


def gettext(message: str) -> str:
    """`message` in the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def _(message: str) -> str:
    return gettext(message)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def language_name(language: str) -> str:
    """A language's name in itself ("Deutsch", "norsk bokmål"), capitalised for a menu."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE)


def day(value: date, language: str | None = None) -> str:
    """A day, e.g. "Sep 7, 2025", "7. Sept. 2025", "7 sept. 2025" (CLDR's yMMMd)."""
    return _skeleton("yMMMd", value, language or current())


def month(value: date, language: str | None = None) -> str:
    """A month heading, e.g. "September 2025", "september 2025" (CLDR's yMMMM)."""
    return _skeleton("yMMMM", value, language or current())


def month_short(value: date, language: str | None = None) -> str:
    """A month's short name, e.g. "Sep", "sep.", "syys" (CLDR's MMM)."""
    return _skeleton("MMM", value, language or current())


@lru_cache(maxsize=8192)  # a page names the same few hundred days again and again
def _skeleton(skeleton: str, value: date, language: str) -> str:
    return format_skeleton(skeleton, value, locale=_locale(language))


def weekdays_short(language: str | None = None) -> list[str]:
    """Monday first, CLDR's short stand-alone names ("Mo", "ma", "lu")."""
    names = _locale(language or current()).days["stand-alone"]["short"]
    return [names[i] for i in range(7)]


def time_of_day(value: datetime, tz: tzinfo) -> str:
    """Hours and minutes in the page's zone, 24-hour in every shipped language."""
    return format_datetime(value, "HH:mm", tzinfo=tz, locale=_locale(current()))


def date_in_zone(value: datetime, tz: tzinfo) -> str:
    """The day of `value` in the page's zone, as `day` writes it."""
    return day(value.astimezone(tz).date())


def medium_date(value: date) -> str:
    """CLDR's medium date format."""
    return format_date(value, "medium", locale=_locale(current()))


def decimal(value: float, digits: int = 2) -> str:
    """A number with the locale's separators and `digits` decimals ("99.95", "99,95")."""
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(value, format=pattern, locale=_locale(current()))


def percent(value: float, digits: int = 2) -> str:
    """A share (0..100) with the locale's percent sign placement ("99.95%", "99,95 %")."""
    locale = _locale(current())
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0." + "0" * digits)
    return format_percent(value / 100, format=pattern if digits else None, locale=locale)
