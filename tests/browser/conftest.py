"""End-to-end tests of the web console in headless Chromium (Debian's ``chromium`` driven by
Playwright for Python; Playwright never downloads a browser here) against a real uvicorn server
on a fresh SQLite database seeded from fixtures/.

Without a Chromium binary the tests are skipped with the reason, unless ``REQUIRE_BROWSER=1``
(set by .ci/run): then they fail, so CI cannot pass by skipping them."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from graphql_api.app import create_app
from services.application import Application, Tokens
from services.config import Settings
from tests import databases
from tests.api.conftest import free_port, wait_until_ready

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then skips, or fails under REQUIRE_BROWSER=1
    expect = None

ROOT = Path(__file__).resolve().parents[2]
# Screenshots for people: docs/screenshots/ (the README shows two) is written only when
# SCREENSHOTS=docs; every run writes them to the artefact folder CI keeps.
ARTEFACTS = Path(os.environ.get("BROWSER_ARTEFACTS", ROOT / "var" / "browser-artefacts"))
DOCS_SHOTS = ROOT / "docs" / "screenshots"

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Server:
    base: str
    application: Application
    tokens: dict[str, str]

    def gql(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        """One API call as ``who`` (to set up a test's state without the browser)."""
        r = httpx.post(f"{self.base}/graphql", timeout=60,
                       json={"query": query, "variables": variables},
                       headers={"authorization": f"Bearer {self.tokens[who]}"})
        body: dict[str, Any] = r.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service as `make serve` runs it (dev, seeded from fixtures/), on a free port."""
    folder = tmp_path_factory.mktemp("browser")
    with databases.fresh_engine("sqlite", folder, postgres_url=None, prefix="browser") as engine:
        # The validation time budget is wall-clock; on a shared, loaded test machine the
        # console's larger documents could pass it. It is tested with its default elsewhere.
        settings = Settings(env="dev", validation_seconds=30)
        application = Application(settings, engine)
        app = create_app(settings, application)
        t = Tokens(application)
        tokens = {
            "caseworker": t.create(role="caseworker", name="cw-001", regions=["371300-001"]),
            "caseworker2": t.create(role="caseworker", name="cw-002", regions=["371300-002"]),
            "editor": t.create(role="policy_editor", name="ed-1", department="县扶贫办"),
            "approver": t.create(role="policy_approver", name="ap-1", department="县医保局"),
            "auditor": t.create(role="auditor", name="au-1"),
            "medical_editor": t.create(role="policy_editor", name="ed-m", department="县医保局"),
            # The medical editor's own approver token: the same person, so four eyes refuse
            # them the versions they wrote.
            "medical_editor_as_approver": t.create(role="policy_approver", name="ed-m",
                                                   department="县医保局"),
        }
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base)
        yield Server(base, application, tokens)
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Requests:
    """Every request the page made, and the console messages it logged."""

    urls: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def other_origins(self, base: str) -> list[str]:
        origin = urlsplit(base)[:2]
        return [u for u in self.urls
                if not u.startswith(("data:", "blob:", "about:")) and urlsplit(u)[:2] != origin]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        _unavailable("no chromium binary (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@dataclass
class Console:
    """A browser page on the console, with what it requested."""

    page: Any
    server: Server
    requests: Requests

    def open(self, route: str = "", token: str | None = None) -> None:
        self.page.goto(f"{self.server.base}/#{route}")
        if token is not None:
            self.sign_in(token)
            if route:
                self.page.goto(f"{self.server.base}/#{route}")

    def sign_in(self, who: str) -> None:
        page = self.page
        page.goto(f"{self.server.base}/#/signin")
        page.get_by_label("访问令牌").fill(self.server.tokens[who])
        page.get_by_role("button", name="登录").click()
        # Signed in once the console has left the sign-in page for the role's first page.
        page.wait_for_url(lambda url: "#/signin" not in url)
        page.get_by_test_id("who").wait_for()
        page.locator("main h1").first.wait_for()

    def shot(self, name: str, full_page: bool = True, selector: str | None = None,
             docs: bool = True) -> Path:
        """Save a screenshot of the page (or of one element) as NAME.png."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        if selector is not None:
            self.page.locator(selector).screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), full_page=full_page)
        if docs and os.environ.get("SCREENSHOTS") == "docs":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SHOTS / path.name)
        return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def console(request: pytest.FixtureRequest, browser: Any, server: Server) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = Requests()
    page.on("request", lambda r: seen.urls.append(r.url))
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.console_errors.append(str(e)))
    c = Console(page, server, seen)
    yield c
    if request.node.stash.get(_FAILED, False):
        # What the page showed when the test failed, next to the other screenshots.
        c.shot(f"FAILED-{request.node.name}", docs=False)
        (ARTEFACTS / f"FAILED-{request.node.name}.log").write_text(
            "\n".join(seen.console_errors + seen.urls), encoding="utf-8")
    context.close()
