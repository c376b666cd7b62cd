"""Declared groups and roles (`groups`, `roles`): who may do what beyond their own server.

A teaching assistant who may open the servers of one class is a role with
`access:servers!group=class-a` held by the TA, and a group `class-a` of the students. The hub
loads both at every start (hub/roles.py: JupyterHub's `load_groups` and `load_roles`), and the
stack config is the whole truth: a member or role holder removed here loses the membership or
the role at the next `up`.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from config.auth import Username
from config.base import ConfigModel
from config.scopes import filtered_groups, scope_problem

# Group names as they appear in scope filters and URLs: lower case like usernames, no '!' '=' '/'.
GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
# jupyterhub/roles.py `_role_name_pattern`.
ROLE_NAME = re.compile(r"^[a-z][a-z0-9\-_~.]{1,253}[a-z0-9]$")
# JupyterHub's default roles (jupyterhub/roles.py `get_default_roles`): redefining one changes
# what every user, server or token may do. And the roles of the hub's own services
# (hub/servers.py), which hold only what those services use.
RESERVED_ROLES = frozenset({"admin", "user", "server", "token", "metrics", "prestart", "idle-culler"})


def group_name_problem(name: str) -> str | None:
    if GROUP_NAME.match(name):
        return None
    return f"group name {name!r} must be 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"


class RoleConfig(ConfigModel):
    """A role: scopes, and the users and groups who hold them."""

    name: str
    """The role's name: 3-255 of a-z, 0-9 and `-_~.`, starting with a letter (JupyterHub's rule)."""
    description: str = ""
    """What the role is for, shown by JupyterHub's REST API."""
    scopes: tuple[str, ...] = Field(min_length=1)
    """JupyterHub scopes, e.g. `access:servers!group=class-a` (open those servers) and
    `read:users!group=class-a`; `proxy`, `admin:server_state` and `shutdown` are for admins only."""
    users: tuple[Username, ...] = ()
    """Usernames who hold the role."""
    groups: tuple[str, ...] = ()
    """Groups whose members hold the role."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ROLE_NAME.match(value):
            raise ValueError(
                "must be 3-255 of a-z, 0-9 and '-_~.', "
                "starting with a letter and ending with a letter or digit"
            )
        if value in RESERVED_ROLES:
            raise ValueError(
                f"{value!r} is a role of JupyterHub or of this stack's services; choose another name "
                "(admins are auth.admins)"
            )
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = [p for p in (scope_problem(s) for s in value) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = [p for p in (group_name_problem(g) for g in value) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @property
    def named_groups(self) -> set[str]:
        """Every group the role names, as a holder or in a scope's filter."""
        named = set(self.groups)
        for scope in self.scopes:
            named |= filtered_groups(scope)
        return named


def declared_members(groups: dict[str, tuple[str, ...]], roles: list[RoleConfig]) -> set[str]:
    """Every username the groups and roles name (JupyterHub creates each at start)."""
    names = {user for members in groups.values() for user in members}
    for role in roles:
        names |= set(role.users)
    return names


def unlisted_members(auth: object, from_file: list[str], declared: set[str]) -> list[str]:
    """Problems for declared members whom the login's allow list does not name.

    JupyterHub creates every user a group or role names, and with an allow list it admits the
    users it already has (`Authenticator.allow_existing_users`, on by default with
    `allowed_users`): naming someone in a group would let them log in. So with an allow list
    (and no allowAll) every member must be on it, or an admin."""
    lists_users = bool(getattr(auth, "lists_users", False))
    if not lists_users or getattr(auth, "allow_all", False):
        return []
    allowed = set(getattr(auth, "allowed_users", ())) | set(from_file) | set(getattr(auth, "admin_names", []))
    return [
        f"groups/roles: {name!r} is not in auth.allowedUsers (or auth.allowedUsersFile) nor an admin: "
        "a group or role would let them log in; add them to the allow list, or remove them"
        for name in sorted(declared - allowed)
    ]


def check_roles(groups: dict[str, tuple[str, ...]], roles: list[RoleConfig], auth_type: str) -> list[str]:
    """Problems of the declared groups and roles together, each naming its setting."""
    problems = [f"groups: {p}" for p in (group_name_problem(name) for name in groups) if p]
    # The identity provider's groups claim sets each person's groups at every login
    # (GenericOAuthenticator.manage_groups, hub/apply.py), and JupyterHub refuses load_groups
    # beside it (app.py `init_groups`: "Group management has been offloaded to the authenticator").
    identity_groups = auth_type == "oidc"
    if identity_groups and groups:
        problems.append(
            "groups: with auth.type oidc, each person's groups come from the identity provider's "
            "groups claim at login; put the members there, and name its groups in roles"
        )
    seen: set[str] = set()
    for index, role in enumerate(roles):
        if role.name in seen:
            problems.append(f"roles[{index}].name: {role.name!r} is declared twice")
        seen.add(role.name)
        if not (role.users or role.groups):
            problems.append(f"roles[{index}]: {role.name!r} has no users and no groups; nobody would hold it")
        undeclared = sorted(role.named_groups - set(groups))
        if undeclared and not identity_groups:
            problems.append(
                f"roles[{index}]: {role.name!r} names groups not declared in `groups`: "
                f"{', '.join(undeclared)}; declare them (with their members) or fix the name"
            )
    return problems
