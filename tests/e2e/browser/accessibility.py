"""Accessibility checks any browser test can call: axe-core on the page as it is now (``assert_accessible``) and the
contrast of the focus ring around every element the keyboard reaches (``focus_rings``).

    from e2e.browser.accessibility import assert_accessible
    assert_accessible(page)  # after opening a page or a dialog
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

__all__ = ["FocusRing", "assert_accessible", "axe_violations", "contrast", "focus_rings"]

_AXE = Axe()
OPTIONS: dict[str, Any] = {
    "resultTypes": ["violations"],
    # every rule axe-core runs by default (WCAG 2.0-2.2 A and AA, best practices), plus WCAG 2.5.3 label in name,
    # which axe-core still ships as experimental: a visible label must be part of the accessible name
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every impact level)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")
    result: list[dict[str, Any]] = _AXE.run(page, options=OPTIONS).response["violations"]
    return result


def assert_accessible(page: Page) -> None:
    """Fail with axe-core's findings (rule, impact, the elements and why) when the page has any violation."""
    violations = axe_violations(page)
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.append(f"      {' | '.join(node['failureSummary'].splitlines()[1:])}")
    assert not violations, f"axe-core finds {len(violations)} violation(s) on {page.url}:\n" + "\n".join(lines)


@dataclass(frozen=True, kw_only=True, slots=True)
class FocusRing:
    """The focus indicator of one focused element: its outline and the background it is drawn on."""

    element: str
    style: str
    width: float
    color: tuple[float, float, float, float]
    background: tuple[float, float, float]

    @property
    def contrast(self) -> float:
        return contrast(_over(self.color, self.background), self.background)


# Reads the focused element's outline and the colour behind it: the first ancestor (the outline is drawn outside
# the element, offset) with an opaque background, else white. Colours as [r, g, b, a] from the computed style.
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  if (window.__ringsSeen.has(el)) return {again: true};
  window.__ringsSeen.add(el);
  const rgba = (text) => {
    const p = text.match(/[\\d.]+/g).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const style = getComputedStyle(el);
  let node = el.parentElement, background = [255, 255, 255];
  while (node) {
    const color = rgba(getComputedStyle(node).backgroundColor);
    if (color[3] > 0.99) { background = color.slice(0, 3); break; }
    node = node.parentElement;
  }
  const type = el.getAttribute("type");
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (type ? "[" + type + "]" : "");
  const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().slice(0, 40);
  return {element: name + " " + text, style: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0,
          color: rgba(style.outlineColor), background};
}"""


def focus_rings(page: Page, *, most: int = 150) -> list[FocusRing]:
    """Tab through the page (or the open modal dialog) from the start, reading each focused element's ring, until
    the focus comes back round or ``most`` elements were seen."""
    page.evaluate("() => { window.__ringsSeen = new WeakSet(); document.activeElement?.blur?.(); }")
    rings: list[FocusRing] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        read = page.evaluate(_FOCUSED)
        if read is None:
            continue
        if read.get("again"):
            break
        rings.append(FocusRing(**{**read, "color": tuple(read["color"]), "background": tuple(read["background"])}))
    return rings


def contrast(first: tuple[float, float, float], second: tuple[float, float, float]) -> float:
    """WCAG's contrast ratio of two sRGB colours (0-255 channels): 1 to 21."""
    darker, lighter = sorted((_luminance(first), _luminance(second)))
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: tuple[float, float, float]) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _over(color: tuple[float, float, float, float], background: tuple[float, float, float]) -> tuple[float, ...]:
    """A translucent colour as seen over the background."""
    alpha = color[3]
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(color[:3], background, strict=True))
