"""WCAG 2 colour contrast: relative luminance, contrast ratio, and the nearest lighter or darker
shade of a colour that reaches a ratio (for the brand accent in each colour scheme).

https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio; AA asks 4.5:1 for text, 3:1 for other
things a reader must see (a chart line, a control's edge).
"""

from __future__ import annotations

import colorsys

TEXT = 4.5  # WCAG AA, normal text (1.4.3)
NON_TEXT = 3.0  # WCAG AA, graphics and controls (1.4.11)


def rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b) of '#rrggbb'."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def hex_of(red: int, green: int, blue: int) -> str:
    """'#rrggbb' of (r, g, b)."""
    return f"#{red:02x}{green:02x}{blue:02x}"


def luminance(colour: str) -> float:
    """Relative luminance, 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ratio(first: str, second: str) -> float:
    """Contrast ratio of two colours, 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def worst(colour: str, against: tuple[str, ...]) -> float:
    """The lowest contrast of a colour against any of these."""
    return min(ratio(colour, other) for other in against)


def reaching(colour: str, against: tuple[str, ...], needed: float, *, lighter: bool) -> str:
    """The colour itself if it has `needed` contrast against every one of `against`; else the
    least lighter (or darker) shade of the same hue and saturation that has it (HLS lightness
    in steps of 0.5 %; white and black are the ends, which pass against a dark and a light
    background respectively)."""
    if worst(colour, against) >= needed:
        return colour
    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255 for c in rgb(colour)))
    steps = 200
    for step in range(1, steps + 1):
        shade = (
            lightness + (1 - lightness) * step / steps
            if lighter
            else lightness * (1 - step / steps)
        )
        red, green, blue = colorsys.hls_to_rgb(hue, shade, saturation)
        candidate = hex_of(round(red * 255), round(green * 255), round(blue * 255))
        if worst(candidate, against) >= needed:
            return candidate
    return "#ffffff" if lighter else "#000000"


# The page's own colours an accent is read against (static/style.css; a test keeps them equal):
# links on the page's background and on the footer's soft one, and the button text (--on-fill)
# on an accent-coloured button, in the light scheme and in the dark one.
LIGHT_SCHEME = ("#ffffff", "#f5f7fa")
DARK_SCHEME = ("#11161c", "#19212a")


def _floor(value: float) -> str:
    return f"{int(value * 100) / 100:g}"


def accent_problem(accent: str) -> str | None:
    """Why this accent can't be the page's link and button colour in the light scheme (too
    little contrast), or None. The dark scheme needs nothing from staff: it gets a lighter
    shade (`accent_shades`)."""
    found = worst(accent, LIGHT_SCHEME)
    if found >= TEXT:
        return None
    darker = reaching(accent, LIGHT_SCHEME, TEXT, lighter=False)
    return (
        f"{accent} has {_floor(found)}:1 contrast against the page's light background; links "
        f"and buttons in the accent colour need at least {_floor(TEXT)}:1 (WCAG AA). "
        f"A darker shade such as {darker} has it"
    )


def accent_shades(accent: str) -> tuple[str, str]:
    """The accent for the light scheme and for the dark one: each the accent itself where it
    has 4.5:1 against that scheme's backgrounds, else its nearest shade that does (darker for
    light, lighter for dark)."""
    return (
        reaching(accent, LIGHT_SCHEME, TEXT, lighter=False),
        reaching(accent, DARK_SCHEME, TEXT, lighter=True),
    )
