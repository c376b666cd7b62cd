"""Files the config may point at, read (and checked) before any resource is registered."""

from __future__ import annotations

from pathlib import Path

from config.auth import AuthConfig
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
