"""A workshop participant in a real browser: the login form, JupyterLab with nothing to dismiss,
a new notebook whose cell computes 42. Through the proxy, and through the TLS edge with the
stack's own CA trusted by the browser. Screenshots of each step: test-results/browser/<case>/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.e2e.browser import Screenshots, chromium
from tests.e2e.conftest import USER_PASSWORD, Deployment

SPAWN_TIMEOUT_MS = 90_000  # login, spawn (the stack's startTimeout is 90 s) and JupyterLab's load
STEP_TIMEOUT_MS = 30_000
KERNEL_TIMEOUT_MS = 60_000
# The notification settings (JupyterLab 4.6's schema @jupyterlab/apputils-extension:notification)
# the default notebook image overrides (notebook/labconfig/default_setting_overrides.json).
NOTIFICATION_SETTINGS = "lab/api/settings/@jupyterlab/apputils-extension:notification"


def notification_defaults(page: Page, server_url: str) -> dict[str, Any]:
    """The defaults JupyterLab's schema carries for the notification settings, as the user's
    server hands them to this browser (with the image's overrides applied)."""
    answer: dict[str, Any] = page.evaluate(
        """async (url) => {
            // Cookie-authenticated API calls need the _xsrf cookie echoed, as JupyterLab does.
            const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
            const headers = xsrf ? {"X-XSRFToken": decodeURIComponent(xsrf[1])} : {};
            const response = await fetch(url, {headers});
            const text = await response.text();
            if (!response.ok) return {status: response.status, body: text.slice(0, 500)};
            const properties = JSON.parse(text).schema.properties;
            return {status: response.status, fetchNews: properties.fetchNews.default,
                    checkForUpdates: properties.checkForUpdates.default};
        }""",
        server_url + NOTIFICATION_SETTINGS,
    )
    return answer


def expect_nothing_to_dismiss(page: Page) -> None:
    """No toast (the "get notified about Jupyter news?" question is one) and no dialog (a
    "build recommended" prompt is one)."""
    expect(page.locator(".Toastify__toast")).to_have_count(0)
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def a_participant_computes_42(page: Page, hub_url: str, name: str, shots: Screenshots) -> None:
    page.goto(hub_url)
    username = page.locator("#username_input")
    expect(username).to_be_visible(timeout=STEP_TIMEOUT_MS)
    shots.take("login-form")

    username.fill(name)
    page.locator("#password_input").fill(USER_PASSWORD)
    shots.take("login-filled")
    page.locator("#login_submit").click()

    launcher = page.locator(".jp-Launcher").first
    expect(launcher).to_be_visible(timeout=SPAWN_TIMEOUT_MS)
    server_url = f"{hub_url}user/{name}/"
    assert page.url.startswith(server_url + "lab"), page.url
    shots.take("jupyterlab")

    # The image answers the news question for the participant ("false": never fetch, so never
    # ask); checked at the source, then on screen now and again at the end, since the question is
    # a toast that stays until dismissed.
    assert notification_defaults(page, server_url) == {
        "status": 200,
        "fetchNews": "false",
        "checkForUpdates": False,
    }
    expect_nothing_to_dismiss(page)

    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    notebook = page.locator(".jp-NotebookPanel").first
    kernel_dialog = page.locator(".jp-Dialog")
    expect(notebook.or_(kernel_dialog).first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    if kernel_dialog.is_visible():  # "Select Kernel", when the server offers more than one
        kernel_dialog.locator(".jp-mod-accept").click()
    # Ready when the status bar says so: a cell run before the kernel is attached is dropped
    # (the toolbar's indicator already reads idle while the status bar says "Initializing").
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    shots.take("new-notebook")

    notebook.locator(".jp-Cell .cm-content").first.click()
    page.keyboard.type("6 * 7")
    shots.take("cell-typed")

    page.keyboard.press("Shift+Enter")
    result = notebook.locator(".jp-OutputArea-executeResult .jp-OutputArea-output").first
    expect(result).to_have_text("42", timeout=KERNEL_TIMEOUT_MS)
    shots.take("result-42")
    expect_nothing_to_dismiss(page)


def run_case(
    case: str,
    workdir: Path,
    hub_url: str,
    name: str,
    *,
    hosts: dict[str, str] | None = None,
    ca_file: Path | None = None,
) -> None:
    with chromium(workdir, hosts=hosts, ca_file=ca_file) as browser:
        page = browser.new_page()
        shots = Screenshots(page, case)
        try:
            a_participant_computes_42(page, hub_url, name, shots)
        except BaseException:
            shots.take("failure")  # what the page showed when the step gave up
            raise


def test_browser_a_participant_logs_in_and_computes_through_the_proxy(
    workshop: Deployment, tmp_path: Path
) -> None:
    run_case("proxy", tmp_path, workshop.url, "paula")


def test_browser_a_participant_logs_in_and_computes_through_the_tls_edge(
    self_signed: tuple[Deployment, Path], tmp_path: Path
) -> None:
    stack, ca_file = self_signed
    assert stack.url.startswith("https://hub.test:")
    hosts = {"hub.test": "127.0.0.1"}
    # The browser really verifies the edge: without the stack's CA it refuses the page.
    with (
        chromium(tmp_path / "untrusting", hosts=hosts) as untrusting,
        pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"),
    ):
        untrusting.new_page().goto(stack.url)
    run_case("tls-edge", tmp_path / "trusting", stack.url, "tess", hosts=hosts, ca_file=ca_file)
