"""The built site in a real browser: Debian's headless Chromium, driven by Playwright, over loopback HTTP."""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.docsgen.site import FLEET, REPO, built_fleet_site, require_tools

pytestmark = [pytest.mark.docs, pytest.mark.browser, pytest.mark.loopback]

CHROMIUM = "/usr/bin/chromium"
# Playwright adds --headless and the profile; without the networking flags Chromium keeps
# dialling Google's hosts, which a machine with no network refuses many times a second.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts"  # git-ignored: screenshots to look at after a run
MODEL = next(m for m in FLEET if m.name == "mistral-nemo")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL of the built site served on 127.0.0.1, docs root)."""
    docs_root, site_dir = built_fleet_site(tmp_path_factory.mktemp("browser"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site_dir)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", docs_root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def processes_using(profile: Path) -> list[int]:
    """Processes whose command line names the profile: the browser and its helpers."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(profile).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile
            pass
    return found


@pytest.fixture
def page(site, tmp_path):
    require_tools(CHROMIUM)
    base_url, _ = site
    profile = tmp_path / "profile"  # new and empty for every run
    profile.mkdir()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900}
        )
        try:
            # The theme asks for web fonts; only the loopback site is reachable, so fail the rest at once.
            context.route(lambda url: not url.startswith(base_url), lambda route: route.abort())
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
    deadline = time.monotonic() + 10
    while processes_using(profile) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_using(profile) == [], "Chromium processes still running after the browser closed"


def test_expanding_a_model_shows_its_python_code(site, page):
    base_url, docs_root = site
    page.goto(base_url + "get-started/start-building/real-time/")
    entry = page.locator(f"xpath=//h3[@id='python']/following-sibling::details[summary[normalize-space()='{MODEL.display_name}']][1]")
    code = entry.locator("div.language-python code")
    expect(code).to_be_hidden()

    entry.locator("summary").click()

    expect(code).to_be_visible()
    expect(code).to_contain_text(f'model="{MODEL.model_id}"')
    snippet = MODEL.snippet(docs_root, "real-time", "Python").read_text(encoding="utf-8")
    assert code.inner_text().rstrip("\n") == snippet.rstrip("\n")
    ARTIFACTS.mkdir(exist_ok=True)
    entry.screenshot(path=ARTIFACTS / f"real-time-{MODEL.name}.png")


def test_models_page_shows_each_models_row_with_its_model_id(site, page):
    base_url, _ = site
    page.goto(base_url + "get-started/models/")
    names = page.locator("xpath=//h2[@id='model-names']/following::table[1]")

    for model in FLEET:
        row = names.locator("tr", has=page.locator("td", has_text=model.display_name))
        expect(row).to_have_count(1)
        expect(row).to_be_visible()
        expect(row.locator("td").nth(1)).to_have_text(model.model_id)
    ARTIFACTS.mkdir(exist_ok=True)
    names.screenshot(path=ARTIFACTS / "models-names.png")
