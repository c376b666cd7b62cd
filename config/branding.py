"""How the hub looks like its owner's (`branding`): a logo, the login page's text, a banner on
every page, and a directory of templates that override JupyterHub's.

The files are read when the program runs, preview included (config/files.py `read_branding`),
and reach the hub as uploads of its container (hub/branding.py applies them), so a change to
one replaces the hub container and nothing else. The texts are plain text: the hub escapes
them (JupyterHub renders its announcements as HTML); markup belongs in the templates.
"""

from __future__ import annotations

from pydantic import Field

from config.base import ConfigModel

# What a browser shows for each kind of image, by its first bytes. SVG is left out: an SVG is a
# document that can carry scripts, and /hub/logo is served from the hub's own origin.
LOGO_KINDS = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"GIF87a": "gif", b"GIF89a": "gif"}
LOGO_MAX_BYTES = 1024 * 1024
TEMPLATE_MAX_BYTES = 256 * 1024
TEMPLATES_MAX_FILES = 50
TEXT_MAX_CHARS = 2000


class BrandingConfig(ConfigModel):
    """The hub's logo, texts and templates."""

    logo: str | None = None
    """A PNG, JPEG or GIF file (at most 1 MiB), relative to the project directory: the logo at the
    top of the hub's pages, in place of Jupyter's."""
    login_text: str = Field(default="", max_length=TEXT_MAX_CHARS)
    """Plain text on the login page, above the form (e.g. which password to use)."""
    announcement: str = Field(default="", max_length=TEXT_MAX_CHARS)
    """Plain text in a banner at the top of every hub page (e.g. a maintenance window)."""
    templates: str | None = None
    """A directory of Jinja templates (`*.html`, at most 50, each at most 256 KiB), relative to the
    project directory, that override JupyterHub's own of the same name, e.g. `login.html`
    starting with `{% extends "templates/login.html" %}`."""

    @property
    def enabled(self) -> bool:
        return bool(self.logo or self.login_text or self.announcement or self.templates)
