"""A workshop participant in a real browser: the login form, JupyterLab with nothing to dismiss,
a new notebook whose cell computes 42. Through the proxy, and through the TLS edge with the
stack's own CA trusted by the browser. Screenshots of each step: test-results/browser/<case>/."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.e2e.browser import FailedRequests, Screenshots, chromium
from tests.e2e.conftest import USER_PASSWORD, Deployment

SPAWN_TIMEOUT_MS = 90_000
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


def log_in(page: Page, hub_url: str, name: str, shots: Screenshots) -> None:
    page.goto(hub_url, timeout=STEP_TIMEOUT_MS)
    username = page.locator("#username_input")
    expect(username).to_be_visible(timeout=STEP_TIMEOUT_MS)
    shots.take("login-form")

    username.fill(name)
    page.locator("#password_input").fill(USER_PASSWORD)
    shots.take("login-filled")
    page.locator("#login_submit").click()
    # Login, spawn (the stack's startTimeout is 90 s) and JupyterLab's load.
    expect(page.locator(".jp-Launcher").first).to_be_visible(timeout=SPAWN_TIMEOUT_MS)


def a_participant_computes_42(page: Page, hub_url: str, name: str, shots: Screenshots) -> None:
    log_in(page, hub_url, name, shots)
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

    new_notebook_computes_42(page, shots)


def new_notebook_computes_42(page: Page, shots: Screenshots) -> None:
    """From JupyterLab's launcher: a new notebook, `6 * 7` in its cell, Shift+Enter, 42."""
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    notebook = page.locator(".jp-NotebookPanel").first
    dialog = page.locator(".jp-Dialog")
    expect(notebook.or_(dialog).first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    if dialog.is_visible() and "Select Kernel" in dialog.inner_text():  # more than one kernel
        dialog.locator(".jp-mod-accept").click()
        expect(dialog).to_be_hidden(timeout=STEP_TIMEOUT_MS)
    # Ready when the status bar says so: a cell run before the kernel is attached is dropped
    # (the toolbar's indicator already reads idle while the status bar says "Initializing").
    # Any dialog now is an error ("File Load Error", "Error Starting Kernel"): fail at once.
    idle = page.get_by_text("Python 3 (ipykernel) | Idle")
    expect(idle.or_(dialog).first).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    assert not dialog.is_visible(), f"JupyterLab shows a dialog: {dialog.inner_text()}"
    shots.take("new-notebook")

    notebook.locator(".jp-Cell .cm-content").first.click()
    page.keyboard.type("6 * 7")
    shots.take("cell-typed")

    page.keyboard.press("Shift+Enter")
    result = notebook.locator(".jp-OutputArea-executeResult .jp-OutputArea-output").first
    expect(result).to_have_text("42", timeout=KERNEL_TIMEOUT_MS)
    shots.take("result-42")
    expect_nothing_to_dismiss(page)


def keep_logs(engine: docker.DockerClient, stack: Deployment, name: str, folder: Path) -> None:
    """The hub's, the edge's and the user's server's logs next to the failure screenshot: what
    the page cannot say (a 500 from the server, a spawn that timed out)."""
    for container in engine.containers.list(all=True, filters={"name": stack.prefix + "-"}):
        if container.name.endswith(("-hub", "-proxy", "-edge", "-firewall", f"-{name}")):
            (folder / f"{container.name}.log").write_bytes(container.logs(tail=400))


def run_case(
    case: str,
    workdir: Path,
    stack: Deployment,
    engine: docker.DockerClient,
    name: str,
    *,
    hosts: dict[str, str] | None = None,
    ca_file: Path | None = None,
) -> None:
    port = urlsplit(stack.url).port
    assert port is not None, stack.url
    with chromium(workdir, [port], hosts=hosts, ca_file=ca_file) as browser:
        page = browser.new_page()
        shots = Screenshots(page, case)
        failed = FailedRequests(page)
        try:
            a_participant_computes_42(page, stack.url, name, shots)
        except BaseException:
            shots.take("failure")  # what the page showed when the step gave up
            (shots.folder / "failed-requests.txt").write_text("".join(f"{r}\n" for r in failed.requests))
            keep_logs(engine, stack, name, shots.folder)
            raise


def test_browser_a_participant_logs_in_and_computes_through_the_proxy(
    workshop: Deployment, engine: docker.DockerClient, tmp_path: Path
) -> None:
    run_case("proxy", tmp_path, workshop, engine, "paula")


def test_browser_a_participant_logs_in_and_computes_through_the_tls_edge(
    self_signed: tuple[Deployment, Path], engine: docker.DockerClient, tmp_path: Path
) -> None:
    stack, ca_file = self_signed
    assert stack.url.startswith("https://hub.test:")
    hosts = {"hub.test": "127.0.0.1"}
    https_port = urlsplit(stack.url).port
    assert https_port is not None, stack.url
    # The browser really verifies the edge: without the stack's CA it refuses the page.
    with (
        chromium(tmp_path / "untrusting", [https_port], hosts=hosts) as untrusting,
        pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"),
    ):
        untrusting.new_page().goto(stack.url, timeout=STEP_TIMEOUT_MS)
    run_case("tls-edge", tmp_path / "trusting", stack, engine, "tess", hosts=hosts, ca_file=ca_file)
