"""Characters text may not carry: what XML can't hold, and what disguises identifiers.

Input boundaries (API, admin, sync) refuse them with a clear 422 through the schema types in
app/schemas.py; imports strip them; renderers that must produce XML (feeds, the static export)
pass stored text through `xml_safe` so an old row can never break them.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Not allowed in XML 1.0: C0 controls but tab, newline and carriage return; surrogates;
# U+FFFE and U+FFFF. NUL is among them (PostgreSQL can't store it in text either).
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Bidirectional embeddings, overrides and isolates: "a@b.c\u202eoi.evil" displays as another
# address. Refused in identifiers (component names, emails, URLs).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _where(match: re.Match[str]) -> str:
    return f"U+{ord(match.group()):04X} at position {match.start() + 1}"


def refuse_controls(value: str) -> str:
    """A schema validator: the value, or ValueError naming the control character."""
    found = XML_INVALID.search(value)
    if found:
        raise ValueError(
            f"contains a control character ({_where(found)}) that pages and feeds can't carry"
        )
    return value


def refuse_bidi(value: str) -> str:
    """A schema validator for identifiers: no controls, no bidirectional overrides."""
    refuse_controls(value)
    found = BIDI_CONTROLS.search(value)
    if found:
        raise ValueError(
            f"contains a bidirectional control character ({_where(found)}) "
            "that would make it display as something else"
        )
    return value


def xml_safe(text: str) -> str:
    """The text without the characters XML can't carry (for renderers of stored text)."""
    return XML_INVALID.sub("", text)


def strip_controls(value: object) -> object:
    """A lenient validator for imported text: drop what XML can't carry, keep the rest."""
    return xml_safe(value) if isinstance(value, str) else value


def isolate(value: str) -> str:
    """Plain text's `<bdi>`: a value carrying bidirectional controls between FIRST STRONG
    ISOLATE and POP DIRECTIONAL ISOLATE, so its controls end with it (names joined into a
    sentence). Other values are returned unchanged."""
    return f"\u2068{value}\u2069" if BIDI_CONTROLS.search(value) else value


def bdi(value: object) -> Markup:
    """A Jinja filter: the value escaped inside <bdi>, so bidirectional controls in it can't
    reorder the text around it (an address that displays as another)."""
    return Markup("<bdi>") + escape(str(value)) + Markup("</bdi>")
