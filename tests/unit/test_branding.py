"""Branding: the files checked at preview, uploaded with the hub container, and applied to the
hub's configuration with the texts escaped."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from config.files import read_branding
from config.stack import ConfigError, parse_stack_config
from hub import apply
from plan.hub_settings import render_secrets, render_settings
from tests.harness.values import SECRET_MARKER
from tests.unit.conftest import BASE_CONFIG, preview
from tests.unit.test_graph import ROOT, upload
from tests.unit.test_hub_config import CONTEXT, NAMES

SHARED: dict[str, Any] = {"type": "shared-password", "allowAll": True, "password": "long-enough"}
# The smallest PNG there is: 1x1, one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
LOGIN_TEMPLATE = (
    '{% extends "templates/login.html" %}\n'
    '{% block login %}<p id="ours">Lab 7</p>{{ super() }}{% endblock %}\n'
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "login.html").write_text(LOGIN_TEMPLATE)
    return tmp_path


def _problem(branding: dict[str, Any], project_dir: Path) -> str:
    config = parse_stack_config({"auth": SHARED, "branding": branding}, {"auth"})
    with pytest.raises(ConfigError) as error:
        read_branding(config.branding, project_dir)
    return str(error.value)


def test_branding_bad_files_name_the_setting_and_the_fix(files: Path) -> None:
    (files / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>")
    (files / "big.png").write_bytes(PNG + b"\0" * (1024 * 1024))
    (files / "mixed").mkdir()
    (files / "mixed" / "page.html").write_text("x")
    (files / "mixed" / "style.css").write_text("x")
    (files / "empty").mkdir()
    assert "branding.logo: 'nowhere.png' does not exist" in _problem({"logo": "nowhere.png"}, files)
    assert "is not a PNG, JPEG or GIF image (SVG is not accepted" in _problem({"logo": "logo.svg"}, files)
    assert "at most 1048576 fit" in _problem({"logo": "big.png"}, files)
    assert "branding.templates: 'logo.png' is not a directory" in _problem({"templates": "logo.png"}, files)
    assert "'style.css' in 'mixed' is not a template (*.html); remove it" in _problem(
        {"templates": "mixed"}, files
    )
    assert "'empty' holds no *.html template" in _problem({"templates": "empty"}, files)


def test_branding_texts_have_a_length_limit() -> None:
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"auth": SHARED, "branding": {"announcement": "x" * 2001}}, {"auth"})
    assert "branding.announcement" in str(error.value)


def _configured(branding: dict[str, Any], project_dir: Path) -> Config:
    config = parse_stack_config({"auth": SHARED, "branding": branding}, {"auth"})
    settings = render_settings(
        config,
        NAMES,
        notebook_images={"Default": "image"},
        default_image="image",
        proxy_api_url="http://proxy:8001",
        auth_context=CONTEXT,
        registry=None,
        branding_files=read_branding(config.branding, project_dir),
    )
    tokens = {"proxyAuthToken": "proxy-token", "metricsToken": "metrics", "prestartToken": "prestart"}
    c = Config()
    apply.configure(c, settings, render_secrets(config, tokens))
    return c


def test_branding_the_hub_serves_the_logo_and_the_templates_first_with_escaped_texts(files: Path) -> None:
    c = _configured(
        {
            "logo": "logo.png",
            "templates": str(files / "templates"),
            "announcement": "Maintenance <Friday>\n18:00",
            "loginText": "Password: on the board",
        },
        files,
    )
    assert c.JupyterHub.logo_file == "/etc/jupyterhub/branding/logo.png"
    assert c.JupyterHub.template_paths[0] == "/etc/jupyterhub/branding/templates"
    assert any(p.endswith("hub/templates") for p in c.JupyterHub.template_paths[1:]), (
        "the stack's 429 page stays"
    )
    assert c.JupyterHub.template_vars["announcement"] == "Maintenance &lt;Friday&gt;<br>18:00"
    assert c.JupyterHub.template_vars["announcement_login"] == (
        "Maintenance &lt;Friday&gt;<br>18:00<br><br>Password: on the board"
    )


def test_branding_none_set_changes_nothing(tmp_path: Path) -> None:
    c = _configured({}, tmp_path)
    assert "logo_file" not in c.JupyterHub
    assert not {"announcement", "announcement_login"} & set(c.JupyterHub.template_vars)


def test_branding_files_travel_as_uploads_of_the_hub_container(files: Path, tmp_path_factory: Any) -> None:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:branding": {
            "logo": str(files / "logo.png"),
            "templates": str(files / "templates"),
            "loginText": "Welcome to Lab 7",
        },
    }
    result = preview(tmp_path_factory.mktemp("preview"), config)
    assert result.returncode == 0, result.stderr
    hub = result.by_name(f"{ROOT}-hub-container")
    uploads = hub["inputs"]["uploads"]
    if SECRET_MARKER in uploads:  # the secrets' upload makes the whole list secret
        uploads = uploads[SECRET_MARKER]
    logo = next(u for u in uploads if u["file"] == "/etc/jupyterhub/branding/logo.png")
    assert base64.b64decode(logo["contentBase64"]) == PNG
    template = next(u for u in uploads if u["file"] == "/etc/jupyterhub/branding/templates/login.html")
    assert template["content"] == LOGIN_TEMPLATE
    settings = json.loads(upload(hub, "/etc/jupyterhub/settings.json"))
    assert settings["branding"] == {
        "logo": "/etc/jupyterhub/branding/logo.png",
        "templates": "/etc/jupyterhub/branding/templates",
        "loginText": "Welcome to Lab 7",
        "announcement": "",
    }
