"""Declared groups and roles: checked at preview, rendered for the hub, and loaded by the real
JupyterHub (the version hub/requirements.txt pins, installed here) into a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from jupyterhub import orm
from jupyterhub.scopes import scope_definitions

from config.scopes import SCOPES
from config.stack import ConfigError, parse_stack_config
from hub.app import StackHub
from tests.unit.conftest import BASE_CONFIG, preview
from tests.unit.test_hub_config import configured

SHARED: dict[str, Any] = {"type": "shared-password", "allowAll": True, "password": "long-enough"}
TA_ROLE: dict[str, Any] = {
    "name": "teaching-assistant",
    "scopes": ["access:servers!group=class-a", "read:users!group=class-a"],
    "users": ["tina"],
}


def problems(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"auth": SHARED, **raw}, {"auth"})
    return str(error.value)


def test_roles_scopes_are_the_pinned_jupyterhubs() -> None:
    # config/scopes.py is a copy, for preview without JupyterHub installed: an upgrade of the
    # pin that adds or removes a scope must update it.
    assert set(scope_definitions) == SCOPES


def test_roles_a_teaching_assistant_role_is_valid_and_rendered_sorted() -> None:
    config = parse_stack_config(
        {"auth": SHARED, "groups": {"class-a": ["bob", "Alice"]}, "roles": [TA_ROLE]}, {"auth"}
    )
    assert config.groups == {"class-a": ("bob", "alice")}, "members are normalised like usernames"
    c = configured({"auth": SHARED, "groups": {"class-a": ["bob", "alice"]}, "roles": [TA_ROLE]})
    marked = {"jupyterhub-docker": "declared in the stack config"}
    assert c.JupyterHub.load_groups == {"class-a": {"users": ["alice", "bob"], "properties": marked}}
    by_name = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert {"metrics", "prestart", "idle-culler"} <= set(by_name), "the services' roles stay"
    assert by_name["teaching-assistant"] == {
        "name": "teaching-assistant",
        "description": "",
        "scopes": ["access:servers!group=class-a", "read:users!group=class-a"],
        "users": ["tina"],
        "groups": [],
    }


def test_roles_none_declared_leaves_the_hub_as_it_was() -> None:
    c = configured({"auth": SHARED})
    assert "load_groups" not in c.JupyterHub
    assert {role["name"] for role in c.JupyterHub.load_roles} == {"metrics", "prestart", "idle-culler"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"roles": [{**TA_ROLE, "name": "ta"}]}, "roles[0].name: must be 3-255"),
        ({"roles": [{**TA_ROLE, "name": "admin"}]}, "'admin' is a role of JupyterHub"),
        ({"roles": [{**TA_ROLE, "name": "idle-culler"}]}, "choose another name"),
        ({"roles": [{**TA_ROLE, "scopes": ["access:server"]}]}, "'access:server' is not a JupyterHub scope"),
        ({"roles": [{**TA_ROLE, "scopes": ["proxy"]}]}, "'proxy' is for admins only"),
        ({"roles": [{**TA_ROLE, "scopes": ["admin:server_state"]}]}, "'admin:server_state' is for admins"),
        ({"roles": [{**TA_ROLE, "scopes": ["shutdown"]}]}, "'shutdown' is for admins only"),
        ({"roles": [{**TA_ROLE, "scopes": ["read:users!group"]}]}, "the filter must be"),
        ({"roles": [{**TA_ROLE, "scopes": ["read:users!team=x"]}]}, "the filter must be"),
        ({"roles": [{**TA_ROLE, "scopes": []}]}, "roles[0].scopes"),
        ({"roles": [{**TA_ROLE, "users": []}]}, "has no users and no groups; nobody would hold it"),
        ({"roles": [TA_ROLE, TA_ROLE], "groups": {"class-a": ["bob"]}}, "is declared twice"),
        ({"roles": [TA_ROLE]}, "names groups not declared in `groups`: class-a"),
        ({"groups": {"Class A": ["bob"]}}, "group name 'Class A' must be"),
        ({"groups": {"class-a": ["  "]}}, "usernames must not be empty"),
        ({"roles": [{**TA_ROLE, "groups": ["a!b"]}], "groups": {"class-a": ["bob"]}}, "group name 'a!b'"),
    ],
)
def test_roles_bad_input_names_the_setting(raw: dict[str, Any], expected: str) -> None:
    assert expected in problems(raw)


def test_roles_oidc_groups_come_from_the_identity_provider() -> None:
    oidc = {
        "type": "oidc",
        "issuer": "https://id.example.org",
        "clientId": "hub",
        "clientSecret": "s3cret-s3cret",
        "allowedGroups": ["students"],
    }
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"auth": oidc, "groups": {"class-a": ["bob"]}}, {"auth"})
    assert "groups come from the identity provider's groups claim" in str(error.value)
    # A role may name the provider's groups, which are not declared here.
    role = {**TA_ROLE, "users": [], "groups": ["teaching"]}
    config = parse_stack_config({"auth": oidc, "roles": [role]}, {"auth"})
    assert config.roles[0].groups == ("teaching",)


def test_roles_a_member_outside_the_allow_list_is_refused_at_preview(tmp_path: Path) -> None:
    # JupyterHub creates every user a group names, and admits the users it has when there is an
    # allow list (allow_existing_users): a group must not become a way in.
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:auth": {
            "type": "shared-password",
            "admins": ["teacher"],
            "allowedUsers": ["alice"],
        },
        "jupyterhub-docker:groups": {"class-a": ["alice", "mallory"]},
        "jupyterhub-docker:roles": [{**TA_ROLE, "users": ["teacher"]}],
    }
    result = preview(tmp_path, config)
    assert result.returncode != 0
    assert "'mallory' is not in auth.allowedUsers" in result.stderr
    assert "'alice'" not in result.stderr and "'teacher' is not" not in result.stderr


def _hub(db: Path, groups: dict[str, list[str]], roles: list[dict[str, Any]]) -> StackHub:
    c = configured({"auth": SHARED, "groups": groups, "roles": roles} if groups else {"auth": SHARED})
    hub = StackHub(
        authenticator_class="null",
        db_url=f"sqlite:///{db}",
        load_groups=c.JupyterHub.get("load_groups", {}),
        load_roles=[role for role in c.JupyterHub.load_roles if "services" not in role],
    )
    hub.init_db()
    return hub


async def _start(hub: StackHub) -> None:
    # The start's steps that touch groups and roles, in JupyterHub's order (app.py `initialize`).
    await hub.init_role_creation()
    await hub.init_users()
    await hub.init_groups()
    await hub.init_role_assignment()


def _members(hub: StackHub) -> dict[str, list[str]]:
    return {group.name: sorted(user.name for user in group.users) for group in hub.db.query(orm.Group)}


def test_roles_the_hub_keeps_declared_groups_exact_and_leaves_others(tmp_path: Path) -> None:
    db = tmp_path / "jupyterhub.sqlite"
    first = _hub(db, {"class-a": ["alice", "bob"], "class-b": ["carol"]}, [TA_ROLE])
    asyncio.run(_start(first))
    assert _members(first) == {"class-a": ["alice", "bob"], "class-b": ["carol"]}
    ta = orm.Role.find(first.db, "teaching-assistant")
    assert [user.name for user in ta.users] == ["tina"]
    assert set(ta.scopes) == {"access:servers!group=class-a", "read:users!group=class-a"}
    # An admin makes a group of their own in the admin page.
    first.db.add(orm.Group(name="reading-club", users=[orm.User.find(first.db, "carol")]))
    first.db.commit()
    first.db.close()

    # The next `up`: bob leaves class-a, class-b is no longer declared, the role is someone else's.
    second = _hub(db, {"class-a": ["alice"]}, [{**TA_ROLE, "users": ["tom"]}])
    asyncio.run(_start(second))
    assert _members(second) == {"class-a": ["alice"], "reading-club": ["carol"]}
    ta = orm.Role.find(second.db, "teaching-assistant")
    assert [user.name for user in ta.users] == ["tom"], "a holder removed from the config loses the role"

    # Nothing declared any more: the role and the declared group go; the admin's group stays.
    third = _hub(db, {}, [])
    asyncio.run(_start(third))
    assert _members(third) == {"reading-club": ["carol"]}
    assert orm.Role.find(third.db, "teaching-assistant") is None
