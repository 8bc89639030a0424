"""The dashboards in Debian's chromium (Playwright): every page for every role, no console error, no request
to anything but 127.0.0.1, the data-testid elements, the waterfall and what-if interactions, role limits,
axe-core accessibility and a screenshot per role (written to a temporary folder)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from ui_helpers import Served

from glassline.audit import Role
from glassline.ui import PAGES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The elements each page must show (with the test data of conftest.py).
TESTIDS = {
    "operator": ["prediction-row"],
    "technician": ["alarm", "audit-status"],
    "engineer": ["whatif-form"],
    "manager": [],
    "quality": ["model-card", "audit-status"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser for this file: module-scoped, so that its Playwright loop is stopped before another file on the
    same xdist worker (the report's page test) starts Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "make test installs Debian's chromium; it is missing"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-screenshots")


class Watched:
    """A page whose console errors and requests are recorded; requests elsewhere are aborted. One browser
    context may serve several roles in turn (:meth:`sign_in` clears the cookies first, so nothing of the last
    role's session is left), which keeps the vendored scripts in the context's cache."""

    def __init__(self, browser: Any, served: Served, role: str | None = None) -> None:
        self.served = served
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        if role is not None:
            self.sign_in(role)

    def sign_in(self, role: str) -> None:
        """Sign in as *role* from a clean slate: no cookie, no recorded error or request."""
        self.context.clear_cookies()
        self.errors.clear()
        self.foreign.clear()
        self.page.goto(self.served.url + "/ui/login")
        self.page.fill("#token", self.served.tokens[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("load")

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host != "127.0.0.1":
            self.foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def open(self, url: str, *, forbidden: bool = False) -> Any:
        """Go to *url*; with *forbidden*, the browser's own console line about the 403 answer is expected."""
        before = len(self.errors)
        response = self.page.goto(url, wait_until="load")
        if forbidden:
            expected = "Failed to load resource: the server responded with a status of 403 (Forbidden)"
            self.errors[before:] = [e for e in self.errors[before:] if e != expected]
        return response

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def shared(browser: Any, served: Served) -> Iterator[Watched]:
    """One browser context for the tests that sign in as each role in turn."""
    watched = Watched(browser, served)
    yield watched
    watched.close()


def _serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.mark.slow
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_page_in_a_browser(shared: Watched, served: Served, shots: Path, role: str) -> None:
    watched = shared
    watched.sign_in(role)
    landing = watched.page.url
    assert "/ui/login" not in landing, f"{role}: the sign-in did not land on a dashboard"
    watched.page.screenshot(path=str(shots / f"{role}.png"), full_page=False)
    for page, needed in PAGES.items():
        if not Role(role).allows(needed):  # refused by the server: asked through the context, not rendered
            refused = watched.context.request.get(f"{served.url}/ui/{page}", max_redirects=0)
            assert refused.status == 403, (role, page)
            assert "This page or action needs" in refused.text(), (role, page)
            continue
        response = watched.open(f"{served.url}/ui/{page}")
        assert response.status == 200, (role, page)
        for testid in TESTIDS[page]:
            assert watched.page.locator(f"[data-testid={testid}]").count() > 0, (role, page, testid)
        if role == "admin":  # every page kind once for accessibility (the admin sees every page)
            found = _serious(watched.page)
            assert found == [], (page, found)
    assert watched.errors == [], watched.errors
    assert watched.foreign == [], watched.foreign


@pytest.mark.slow
def test_a_prediction_row_opens_its_waterfall_and_the_suggestion_answers(
    shared: Watched, served: Served, shots: Path
) -> None:
    watched = shared
    watched.sign_in("operator")
    watched.open(f"{served.url}/ui/operator")
    rows = watched.page.locator("[data-testid=prediction-row].light-row-out")
    assert rows.count() > 0, "the test data have rows out of spec"
    rows.first.click()
    waterfall = watched.page.locator("[data-testid=waterfall]")
    waterfall.first.wait_for()
    waterfall.first.locator(".chart .main-svg").first.wait_for()  # plotly drew it
    watched.page.locator(".detail").first.screenshot(path=str(shots / "operator-waterfall.png"))
    assert _serious(watched.page) == []
    form = watched.page.locator("[data-testid=whatif-form]").first
    form.locator("button[type=submit]").click()
    result = watched.page.locator("[data-testid=whatif-result]").first
    result.wait_for()
    assert "Change 1 input" in result.inner_text() or "No setting" in result.inner_text()
    assert served.calls, "the counterfactual provider was asked"
    # the operator may override, with a reason (audited)
    panel = watched.page.locator(".panel:has([data-testid=waterfall])").first
    panel.locator("input[name=value]").fill("1.5")
    panel.locator("input[name=reason]").fill("lab value")
    panel.locator("[data-testid=override-form] button").click()
    watched.page.get_by_text("Override recorded as audit record").wait_for()
    # an operator cannot reach engineer actions
    response = watched.open(f"{served.url}/ui/engineer", forbidden=True)
    assert response.status == 403
    assert watched.page.locator("[data-testid=oversight-form]").count() == 0
    assert watched.errors == []
    assert watched.foreign == []


@pytest.mark.slow
def test_engineer_what_if_and_alarm_drill_down(shared: Watched, served: Served) -> None:
    watched = shared
    watched.sign_in("engineer")
    watched.open(f"{served.url}/ui/engineer")
    watched.page.locator("[data-testid=whatif-form] button[type=submit]").click()
    watched.page.locator("[data-testid=whatif-result]").wait_for()
    watched.page.locator("[data-testid=whatif-curve-form] button").click()
    watched.page.locator("#whatif-curve .main-svg").first.wait_for()
    watched.open(f"{served.url}/ui/technician")
    watched.page.locator("[data-testid=alarm] a", has_text="Show this window").first.click()
    watched.page.wait_for_url("**/ui/window**")
    assert "/ui/window" in watched.page.url
    watched.page.locator("[data-testid=prediction-row]").first.click()
    watched.page.locator("[data-testid=waterfall]").wait_for()
    assert watched.errors == []
    assert watched.foreign == []
