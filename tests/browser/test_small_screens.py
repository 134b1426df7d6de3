"""Every main page at phone width (375 px) and at 1366x768: no sideways scrolling of the page
(wide tables scroll inside their own box), and a label on every control."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Console

UNLABELLED = """() => [
    ...document.querySelectorAll('main input, main select, main textarea, main button')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !(el.textContent || '').trim())
    .map(el => el.outerHTML.slice(0, 100))"""


def _check(c: Console, route: str, width: int) -> list[str]:
    c.page.goto(f"{c.server.base}/#{route}")
    c.page.locator("main h1").first.wait_for()
    c.page.wait_for_load_state("networkidle")
    problems: list[str] = []
    scroll: Any = c.page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{route} at {width} px is {scroll} px wide")
    unlabelled = c.page.evaluate(UNLABELLED)
    if unlabelled:
        problems.append(f"{route}: controls without a label: {unlabelled}")
    return problems


def test_main_pages_fit_a_phone_and_a_laptop_with_labels(console: Console) -> None:
    c = console
    problems: list[str] = []
    version = c.server.gql("editor", """{ ruleSet(code: "monitoring") { versions { id } } }""")
    version_id = version["ruleSet"]["versions"][0]["id"]
    for width, height in ((375, 740), (1366, 768)):
        c.page.set_viewport_size({"width": width, "height": height})
        c.sign_in("caseworker")
        for route in ("/check", "/households", "/households/hh-001", "/alerts", "/query"):
            problems += _check(c, route, width)
        c.sign_in("editor")
        for route in ("/rulesets", f"/versions/{version_id}"):
            problems += _check(c, route, width)
        c.sign_in("approver")
        problems += _check(c, "/queue", width)
        c.sign_in("auditor")
        for route in ("/audit", "/alerts"):
            problems += _check(c, route, width)
    c.page.set_viewport_size({"width": 375, "height": 740})
    c.page.goto(f"{c.server.base}/#/rulesets")
    c.page.locator("main h1").first.wait_for()
    c.shot("rulesets-phone")
    assert problems == []
