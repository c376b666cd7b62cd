"""The stack's 429 and admin pages (hub/templates), rendered with JupyterHub's own templates
and its loader (app.py `init_tornado_settings`: the stock templates under `templates/`, the
configured paths before them), with the figures hub/admission.py gives them."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyterhub._data import DATA_FILES_PATH
from traitlets.config import Config

from hub import admission
from tests.unit.test_hub_config import SHARED, documents

STOCK = f"{DATA_FILES_PATH}/templates"


def render(name: str, c: Config, **namespace: Any) -> str:
    paths = [*c.JupyterHub.template_paths, STOCK]
    loader = ChoiceLoader(
        [PrefixLoader({"templates": FileSystemLoader([STOCK])}, "/"), FileSystemLoader(paths)]
    )
    env = Environment(loader=loader, autoescape=True)
    values = {
        key: (value(None) if callable(value) else value) for key, value in c.JupyterHub.template_vars.items()
    }
    base = {
        "static_url": lambda path, **_: "/static/" + path,
        "base_url": "/hub/",
        "prefix": "/",
        "user": None,
    }
    base |= {"services": [], "parsed_scopes": set(), "xsrf": "x", "version_hash": "", "server_version": "5"}
    return env.get_template(name).render(**base, **values, **namespace)


@pytest.fixture
def full(monkeypatch: pytest.MonkeyPatch) -> Config:
    settings, _ = documents({"auth": SHARED})
    c = Config()
    admission.admission(c, settings, 42, 512 * 2**20)
    monkeypatch.setitem(c.JupyterHub.template_vars, "running_servers", lambda user: 42)
    return c


def test_admission_page_of_a_full_hub_says_why_what_frees_a_place_and_retries(full: Config) -> None:
    page = render("429.html", full, status_code=429, status_message="Too Many Requests",
                  message="Active user limit exceeded. Try again in a few minutes.")  # fmt: skip
    text = " ".join(page.split())
    assert (
        "This hub runs at most <strong>42</strong> servers at once, and <strong>42</strong> are running now."
        in text
    )
    assert "each server is guaranteed 512 MiB (a server may use up to 2G)" in text
    assert "has not been used for 60 minutes" in text
    assert 'tries again by itself in <span id="jhub-retry-seconds">30</span> seconds' in text
    assert "window.location.replace(again)" in page


def test_admission_page_of_the_spawn_limit_keeps_jupyterhubs_own_words(full: Config) -> None:
    message = "Too many users trying to log in right now. Try again in 30 seconds."
    page = render("429.html", full, status_code=429, status_message="Too Many Requests", message=message)
    assert message in page and "jhub-admission" not in page


def test_admission_admin_page_shows_the_limit_and_a_full_hub(full: Config) -> None:
    page = " ".join(render("admin.html", full, api_page_limit=50).split())
    assert "Servers running: <strong>42</strong> of at most <strong>42</strong> at once" in page
    assert "at 512 MiB guaranteed per server" in page and "The hub is full" in page
    assert "admin-react.js" in page  # JupyterHub's own admin page follows
