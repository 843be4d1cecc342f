"""Every translatable string, as Babel extracts it from the templates and the code (babel.cfg),
is translated in every shipped language, with the same placeholders. A string added without
its translations fails here (README, "Languages", says how to update the catalogs)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
SHIPPED = [code for code in i18n.LANGUAGES if code != i18n.SOURCE]


@cache
def extracted() -> dict[str, str | tuple[str, str]]:
    """msgid -> the message (a plural's is its singular and plural), from the sources."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: dict[str, str | tuple[str, str]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
            if singular:
                found[singular] = (singular, plural)
        elif message:
            found[message] = message
    return found


def catalog(language: str) -> Catalog:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as po:
        return read_po(po, locale=language)


def test_the_sources_have_strings_to_translate() -> None:
    found = extracted()
    assert "Current status" in found  # a template
    assert "Partial Outage" in found  # app/labels.py, marked with N_
    assert isinstance(found["%(num)d day ago"], tuple)  # a plural


def problems(translated: Catalog) -> tuple[list[str], list[str], list[str]]:
    """The extracted strings a catalog lacks, has only fuzzy, or translates with a placeholder
    the source does not have (which would fail when the page is rendered)."""
    missing, fuzzy, placeholders = [], [], []
    for msgid, message in sorted(extracted().items()):
        entry = translated.get(msgid)
        if entry is None:
            missing.append(msgid)
            continue
        strings = list(entry.string) if isinstance(entry.string, tuple) else [entry.string]
        if not strings or not all(strings):
            missing.append(msgid)
            continue
        if entry.fuzzy:
            fuzzy.append(msgid)
        source = " ".join(message) if isinstance(message, tuple) else message
        wanted = set(PLACEHOLDER.findall(source))
        strings = [text for text in strings if isinstance(text, str)]
        placeholders += [
            f"{msgid!r}: {text!r}" for text in strings if set(PLACEHOLDER.findall(text)) - wanted
        ]
    return missing, fuzzy, placeholders


@pytest.mark.parametrize("language", SHIPPED)
def test_every_string_is_translated(language: str) -> None:
    missing, fuzzy, placeholders = problems(catalog(language))
    assert missing == [], f"{language}: not translated (see README, Languages)"
    assert fuzzy == [], f"{language}: fuzzy translations are not used"
    assert placeholders == [], f"{language}: placeholders the source does not have"


def test_a_missing_or_broken_translation_is_noticed() -> None:
    german = catalog("de")
    entry = german.get("Current status")
    assert entry is not None and entry.string
    entry.string = ""
    broken = german.get("Posted %(time)s")
    assert broken is not None
    broken.string = "Veröffentlicht %(zeit)s"
    missing, _, placeholders = problems(german)
    assert missing == ["Current status"]
    assert placeholders == ["'Posted %(time)s': 'Veröffentlicht %(zeit)s'"]
