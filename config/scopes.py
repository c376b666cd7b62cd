"""JupyterHub's scopes, as the pinned JupyterHub defines them, for checking declared roles at
preview: the program does not install JupyterHub, and a role the hub refuses stops the hub.

`SCOPES` is jupyterhub/scopes.py `scope_definitions` of the version in hub/requirements.txt
(tests/unit/test_roles.py holds the two equal, so a JupyterHub upgrade that adds or removes a
scope fails there first). Filters as jupyterhub/scopes.py `_check_scopes_exist` accepts them.
"""

from __future__ import annotations

SCOPES = frozenset(
    {
        "(no_scope)",
        "access:servers",
        "access:services",
        "admin-ui",
        "admin:auth_state",
        "admin:groups",
        "admin:server_state",
        "admin:servers",
        "admin:services",
        "admin:users",
        "delete:groups",
        "delete:servers",
        "delete:users",
        "groups",
        "groups:shares",
        "inherit",
        "list:groups",
        "list:services",
        "list:users",
        "proxy",
        "read:groups",
        "read:groups:name",
        "read:groups:shares",
        "read:hub",
        "read:metrics",
        "read:roles",
        "read:roles:groups",
        "read:roles:services",
        "read:roles:users",
        "read:servers",
        "read:services",
        "read:services:name",
        "read:shares",
        "read:tokens",
        "read:users",
        "read:users:activity",
        "read:users:groups",
        "read:users:name",
        "read:users:shares",
        "self",
        "servers",
        "shares",
        "shutdown",
        "start:servers",
        "tokens",
        "users",
        "users:activity",
        "users:shares",
    }
)
# Filters: `!user`, `!server` and `!service` alone (the bearer's own), or with `=<name>`;
# `!group=<name>` always names its group.
OWN_FILTERS = frozenset({"user", "server", "service"})
NAMED_FILTERS = frozenset({"user", "server", "service", "group"})
# Scopes a declared role may not hand out: what only the hub and its admins hold here.
# - proxy: the proxy's routing table; a route can point the public address at any address the
#   proxy reaches, the stack's Docker API proxy included;
# - admin:server_state: the spawner's state of every server, which names the container or
#   Swarm service (and node) the hub starts, stops and routes to;
# - shutdown: stops the hub for everyone.
ADMIN_ONLY = {
    "proxy": (
        "it edits the proxy's routes, which can point the hub's public address at the stack's "
        "internal services"
    ),
    "admin:server_state": (
        "it rewrites servers' spawner state, which names the containers the hub starts and stops"
    ),
    "shutdown": "it stops the hub for everyone",
}


def scope_problem(scope: str) -> str | None:
    """Why `scope` cannot be in a declared role, or None."""
    name, bang, filter_ = scope.partition("!")
    if name not in SCOPES:
        return f"{scope!r} is not a JupyterHub scope (see docs/how-to/classes.md for the usual ones)"
    if name in ADMIN_ONLY:
        return (
            f"{name!r} is for admins only: {ADMIN_ONLY[name]}; make the person an admin (auth.admins) instead"
        )
    if bang:
        kind, equals, value = filter_.partition("=")
        if equals and kind in NAMED_FILTERS and value:
            return None
        if not equals and kind in OWN_FILTERS:
            return None
        return (
            f"{scope!r}: the filter must be !user, !server, !service, or !user=<name>, "
            "!group=<name>, !server=<user>/<server>, !service=<name>"
        )
    return None


def filtered_groups(scope: str) -> set[str]:
    """The group a `!group=<name>` filter names, if any."""
    _, _, filter_ = scope.partition("!")
    kind, _, value = filter_.partition("=")
    return {value} if kind == "group" and value else set()
