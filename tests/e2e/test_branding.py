"""Branding in a real browser: the stack's logo, login text, banner and a template of its own on
the hub's login page (screenshots in test-results/browser/branding/), and a change to the banner
replacing only the hub container at the next `up`."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import docker
import pytest
import requests

from tests.e2e.browser import Screenshots, chromium
from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory

AUTH = {"type": "shared-password", "allowAll": True}
SECRETS = {"auth.password": USER_PASSWORD}
# A 2x2 PNG, its pixels red: what /hub/logo must serve byte for byte.
LOGO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP8z8DAwMDAAAAMBwEBn6gJlwAAAABJRU5ErkJggg=="
)
LOGIN_TEMPLATE = (
    '{% extends "templates/login.html" %}\n'
    '{% block login %}<p id="lab-notice">Lab 7 · Room 2.14</p>{{ super() }}{% endblock %}\n'
)


@pytest.fixture(scope="module")
def branded(make_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    files = tmp_path_factory.mktemp("branding")
    (files / "logo.png").write_bytes(LOGO)
    (files / "templates").mkdir()
    (files / "templates" / "login.html").write_text(LOGIN_TEMPLATE)
    return make_stack(
        AUTH,
        secret_config=SECRETS,
        extra={
            "branding": {
                "logo": str(files / "logo.png"),
                "templates": str(files / "templates"),
                "loginText": "The password is on the board <b>not</b> in the chat",
                "announcement": "Maintenance on Friday",
            }
        },
    )


def _ids(engine: docker.DockerClient, stack: Deployment) -> dict[str, str]:
    label = f"org.jupyterhub-docker.stack={stack.spec.name}"
    return {c.name: c.id for c in engine.containers.list(all=True, filters={"label": label})}


def test_branding_the_login_page_shows_the_stacks_logo_texts_and_template(
    branded: Deployment, engine: docker.DockerClient, tmp_path: Path
) -> None:
    logo = requests.get(branded.url + "hub/logo", timeout=30)
    assert logo.status_code == 200 and logo.content == LOGO
    assert logo.headers["Content-Type"] == "image/png"

    port = urlsplit(branded.url).port
    assert port is not None
    with chromium(tmp_path, [port]) as browser:
        page = browser.new_page()
        shots = Screenshots(page, "branding")
        page.goto(branded.url + "hub/login")
        page.wait_for_selector("#lab-notice")
        shots.take("login")
        assert page.inner_text("#lab-notice") == "Lab 7 · Room 2.14", "the stack's template comes first"
        banner = page.inner_text(".announcement")
        assert "Maintenance on Friday" in banner
        # Plain text: the markup is shown, not applied.
        assert "The password is on the board <b>not</b> in the chat" in banner
        assert page.locator(".announcement b").count() == 0
        # The logo the browser loaded is the stack's (its natural size, 2x2).
        size = page.eval_on_selector("#jupyterhub-logo img", "img => [img.naturalWidth, img.naturalHeight]")
        assert size == [2, 2]
        # Login still works under the template.
        page.fill("#username_input", "ada")
        page.fill("#password_input", USER_PASSWORD)
        page.click("#login_submit")
        page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60_000)
        page.goto(branded.url + "hub/home")
        page.wait_for_selector(".announcement")
        shots.take("home")
        assert "Maintenance on Friday" in page.inner_text(".announcement"), "the banner is on every page"

    before = _ids(engine, branded)
    branding = dict(branded.config["jupyterhub-docker:branding"])
    branding["announcement"] = "Maintenance moved to Monday"
    branded.configure(branding=branding)
    branded.up()
    after = _ids(engine, branded)
    changed = {name for name in before if after.get(name) != before[name]}
    assert changed == {f"{branded.prefix}-hub"}, f"only the hub is replaced, not {sorted(changed)}"
    page_text = requests.get(branded.url + "hub/login", timeout=30).text
    assert "Maintenance moved to Monday" in page_text
