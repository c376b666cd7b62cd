"""The stack's branding (config/branding.py) onto JupyterHub: the logo it serves at /hub/logo,
the announcements its page templates show, and the uploaded templates ahead of its own.

JupyterHub renders `announcement` and `announcement_login` as HTML (templates/page.html `{{
announcement | safe }}`); the stack's texts are plain text, so they are escaped here, with their
line breaks kept. On the login page JupyterHub shows `announcement_login` in place of the
site-wide one (templates/login.html), so the login text follows the banner there.
"""

from __future__ import annotations

from markupsafe import escape
from traitlets.config import Config

from hub.contract import Settings


def prepend_template_path(c: Config, path: str) -> None:
    """`path` ahead of the template paths set so far: JupyterHub takes the first template found."""
    paths = list(c.JupyterHub.template_paths) if "template_paths" in c.JupyterHub else []
    c.JupyterHub.template_paths = [path, *paths]


def as_html(text: str) -> str:
    return "<br>".join(str(escape(line)) for line in text.strip().splitlines())


def branding(c: Config, settings: Settings) -> None:
    """After everything that sets template paths (hub/admission.py), so the stack's come first."""
    branding = settings.get("branding")
    if branding is None:
        return
    if branding["logo"]:
        c.JupyterHub.logo_file = branding["logo"]
    if branding["templates"]:
        prepend_template_path(c, branding["templates"])
    variables = dict(c.JupyterHub.template_vars) if "template_vars" in c.JupyterHub else {}
    banner = as_html(branding["announcement"])
    login = as_html(branding["loginText"])
    if banner:
        variables["announcement"] = banner
    if login:
        variables["announcement_login"] = f"{banner}<br><br>{login}" if banner else login
    if variables:
        c.JupyterHub.template_vars = variables
