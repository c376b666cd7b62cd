"""Files the config may point at, read (and checked) before any resource is registered."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from config.auth import AuthConfig
from config.branding import (
    LOGO_KINDS,
    LOGO_MAX_BYTES,
    TEMPLATE_MAX_BYTES,
    TEMPLATES_MAX_FILES,
    BrandingConfig,
)
from config.stack import TlsConfig, config_problem, resolve_path


def read_allowed_users(auth: AuthConfig, project_dir: Path) -> list[str]:
    """Names from auth.allowedUsersFile: one per line, `#` comments and blank lines ignored."""
    if auth.users_file is None:
        return []
    path = resolve_path(project_dir, auth.users_file, "auth.allowedUsersFile")
    names = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        name = line.split("#", 1)[0].strip().lower()
        if not name:
            continue
        if any(c.isspace() for c in name):
            raise config_problem(
                "auth.allowedUsersFile",
                f"line {number} of {path} holds {line.strip()!r}; write one username per line",
            )
        names.append(name)
    return sorted(set(names))


def read_pem_file(project_dir: Path, value: str, key: str) -> str:
    path = resolve_path(project_dir, value, key)
    pem = path.read_text()
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise config_problem(key, f"{value!r} holds no PEM certificate")
    return pem


def read_auth_ca(auth: AuthConfig, project_dir: Path) -> str | None:
    """The PEM of auth.caCertificatesFile (the identity provider's private CA), if set."""
    if auth.ca_file is None:
        return None
    return read_pem_file(project_dir, auth.ca_file, "auth.caCertificatesFile")


def read_acme_ca_root(tls: TlsConfig, project_dir: Path) -> str | None:
    """The PEM of tls.acmeCaRootFile (a private ACME CA's root), if set."""
    if tls.acme_ca_root_file is None:
        return None
    return read_pem_file(project_dir, tls.acme_ca_root_file, "tls.acmeCaRootFile")


@dataclass(frozen=True)
class BrandingFiles:
    """What the hub container gets: the logo as (its bytes in base64, its kind), and each
    template's text by its path inside the templates directory."""

    logo: tuple[str, str] | None
    templates: dict[str, str]


def read_logo(project_dir: Path, value: str) -> tuple[str, str]:
    path = resolve_path(project_dir, value, "branding.logo")
    if not path.is_file():
        raise config_problem("branding.logo", f"{value!r} is not a file")
    data = path.read_bytes()
    if len(data) > LOGO_MAX_BYTES:
        raise config_problem("branding.logo", f"{value!r} is {len(data)} bytes; at most {LOGO_MAX_BYTES} fit")
    for magic, kind in LOGO_KINDS.items():
        if data.startswith(magic):
            return base64.b64encode(data).decode(), kind
    raise config_problem(
        "branding.logo",
        f"{value!r} is not a PNG, JPEG or GIF image (SVG is not accepted: it can carry scripts); "
        "convert it to PNG",
    )


def read_templates(project_dir: Path, value: str) -> dict[str, str]:
    directory = resolve_path(project_dir, value, "branding.templates")
    if not directory.is_dir():
        raise config_problem("branding.templates", f"{value!r} is not a directory")
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    templates: dict[str, str] = {}
    for path in files:
        relative = path.relative_to(directory).as_posix()
        if path.suffix != ".html":
            raise config_problem(
                "branding.templates", f"{relative!r} in {value!r} is not a template (*.html); remove it"
            )
        if path.stat().st_size > TEMPLATE_MAX_BYTES:
            raise config_problem("branding.templates", f"{relative!r} is over {TEMPLATE_MAX_BYTES} bytes")
        try:
            templates[relative] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise config_problem("branding.templates", f"{relative!r} is not UTF-8 text") from None
    if not templates:
        raise config_problem("branding.templates", f"{value!r} holds no *.html template")
    if len(templates) > TEMPLATES_MAX_FILES:
        raise config_problem(
            "branding.templates", f"{value!r} holds {len(templates)} templates; at most {TEMPLATES_MAX_FILES}"
        )
    return templates


def read_branding(branding: BrandingConfig, project_dir: Path) -> BrandingFiles:
    return BrandingFiles(
        logo=read_logo(project_dir, branding.logo) if branding.logo else None,
        templates=read_templates(project_dir, branding.templates) if branding.templates else {},
    )
