"""WCAG contrast of the brand accent: the ratio as WCAG defines it, the shades each colour
scheme gets, and the page colours it is checked against (as static/style.css has them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import contrast

STYLE = Path(__file__).resolve().parents[2] / "static" / "style.css"


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#777777", "#ffffff", 4.48),  # the classic "just fails AA" grey
        ("#767676", "#ffffff", 4.54),  # and the one that just passes
        ("#0000ff", "#ffffff", 8.59),
        ("#ff0000", "#ffffff", 4.0),
        ("#808080", "#000000", 5.32),
    ],
)
def test_the_ratio_is_wcags(first: str, second: str, expected: float) -> None:
    assert contrast.ratio(first, second) == pytest.approx(expected, abs=0.005)
    assert contrast.ratio(second, first) == contrast.ratio(first, second)


@pytest.mark.parametrize("accent", ["#7a1fa2", "#6a1b9a", "#0a6e5c", "#123456", "#000000"])
def test_a_readable_accent_is_kept_in_light_and_lightened_just_enough_for_dark(
    accent: str,
) -> None:
    assert contrast.accent_problem(accent) is None
    light, dark = contrast.accent_shades(accent)
    assert light == accent
    assert contrast.worst(accent, contrast.DARK_SCHEME) < contrast.TEXT  # too dark as it is
    assert contrast.worst(dark, contrast.DARK_SCHEME) >= contrast.TEXT
    # a lighter shade of the same hue
    assert contrast.luminance(dark) > contrast.luminance(accent)
    if accent != "#000000":
        hue = _hue(accent)
        assert abs(_hue(dark) - hue) < 0.02


def test_an_accent_bright_enough_for_dark_stays_as_it_is_there() -> None:
    light, dark = contrast.accent_shades("#1f5fbf")
    assert light == "#1f5fbf"
    assert contrast.worst(dark, contrast.DARK_SCHEME) >= contrast.TEXT
    assert contrast.accent_shades("#0b3d0b")[0] == "#0b3d0b"
    # bright enough for the dark scheme already: unchanged there (and darkened for light)
    light, dark = contrast.accent_shades("#ff8a80")
    assert dark == "#ff8a80"
    assert contrast.worst(light, contrast.LIGHT_SCHEME) >= contrast.TEXT


def test_a_pale_accent_is_explained() -> None:
    problem = contrast.accent_problem("#ffcc00")
    assert problem is not None
    assert "#ffcc00 has 1.4:1 contrast against the page's light background" in problem
    shade = re.search(r"such as (#[0-9a-f]{6})", problem)
    assert shade is not None
    assert contrast.worst(shade.group(1), contrast.LIGHT_SCHEME) >= contrast.TEXT


def test_the_backgrounds_checked_are_the_pages() -> None:
    css = STYLE.read_text()
    light, dark = re.findall(r":root\s*\{([^}]*)\}", css)[:2]

    def colours(block: str) -> dict[str, str]:
        return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", block))

    light_colours, dark_colours = colours(light), colours(dark)
    assert "prefers-color-scheme: dark" in css.split(dark)[0].rsplit(":root", 1)[0][-60:]
    # links on the page and on the footer (--soft); --on-fill text on an accent button
    assert set(contrast.LIGHT_SCHEME) == {
        light_colours["bg"],
        light_colours["soft"],
        light_colours["on-fill"],
    }
    assert set(contrast.DARK_SCHEME) == {
        dark_colours["bg"],
        dark_colours["soft"],
        dark_colours["on-fill"],
    }


def _hue(colour: str) -> float:
    import colorsys

    return colorsys.rgb_to_hls(*(c / 255 for c in contrast.rgb(colour)))[0]
