"""Declared groups and roles (config/roles.py) onto JupyterHub's `load_groups` and `load_roles`.

Roles: JupyterHub sets a loaded role's users and groups to exactly the lists given when the key
is present (app.py `init_role_assignment`), and deletes at start a role no longer loaded
(`init_role_creation`), so each role carries both lists, empty or not.

Groups: JupyterHub's `load_groups` only adds members. Each declared group is marked in its
properties, and the hub (hub/app.py) removes at start the members a marked group no longer
declares, and the marked groups no longer declared; groups an admin made in the admin page carry
no mark and are left alone.
"""

from __future__ import annotations

from typing import Any

from traitlets.config import Config

from hub.contract import Settings

# The property that marks a group as the stack config's (hub/app.py).
DECLARED_PROPERTY = "jupyterhub-docker"
DECLARED_VALUE = "declared in the stack config"


def declared_groups(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        name: {"users": list(members), "properties": {DECLARED_PROPERTY: DECLARED_VALUE}}
        for name, members in settings.get("groups", {}).items()
    }


def declared_roles(settings: Settings) -> list[dict[str, Any]]:
    # Rendered in load_roles' own shape (hub/contract.py RoleSettings), both lists always there.
    return [dict(role) for role in settings.get("roles", [])]


def groups_and_roles(c: Config, settings: Settings) -> None:
    """After the services' roles (hub/servers.py), which stay as they are."""
    groups = declared_groups(settings)
    if groups:
        c.JupyterHub.load_groups = groups
    roles = declared_roles(settings)
    if roles:
        existing = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
        c.JupyterHub.load_roles = existing + roles
