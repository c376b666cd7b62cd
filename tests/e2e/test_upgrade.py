"""Upgrades: a stack deployed from a checkout pinned to an older JupyterHub (4.1, whose database
schema differs) is upgraded with `up` from this checkout: users, admin flags, running servers and
files survive, and a copy of the old database is kept next to the new one."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import docker

from tests.deployers import PROJECT_DIR, Deployer
from tests.e2e.checkout import fresh_checkout
from tests.e2e.conftest import Deployment, StackFactory
from tests.e2e.hubclient import HubUser

OLD_JUPYTERHUB = "4.1.6"


def _pinned_to_old_jupyterhub(checkout: Path) -> None:
    requirements = checkout / "hub" / "requirements.txt"
    text = re.sub(r"(?m)^jupyterhub==.*$", f"jupyterhub=={OLD_JUPYTERHUB}", requirements.read_text())
    requirements.write_text(text)


def test_upgrade_from_an_older_jupyterhub_keeps_users_servers_and_files(
    make_stack: StackFactory, deployer: Deployer, engine: docker.DockerClient, tmp_path: Path
) -> None:
    old_checkout = fresh_checkout(tmp_path / "old")
    _pinned_to_old_jupyterhub(old_checkout)
    stack: Deployment = make_stack({"type": "native", "admins": ["boss"], "allowAll": True}, deploy=False)
    deployer.project_dir = old_checkout
    try:
        stack.up()
    finally:
        deployer.project_dir = PROJECT_DIR
    hub = f"{stack.prefix}-hub"
    assert engine.containers.get(hub).exec_run(["jupyterhub", "--version"]).output.decode().strip() == (
        OLD_JUPYTERHUB
    )

    password = secrets.token_urlsafe(12)
    boss = HubUser(stack.url, "boss")
    assert boss.signup(password).status_code == 200
    boss.login(password)
    assert boss.logged_in()
    boss.start_server()
    assert boss.put_notebook("before.ipynb", "print('written on 4.1')").status_code == 201
    server = engine.containers.get(f"{stack.prefix}-user-boss").id

    stack.up()  # this checkout: the project's JupyterHub pin
    new_version = engine.containers.get(hub).exec_run(["jupyterhub", "--version"]).output.decode().strip()
    assert new_version != OLD_JUPYTERHUB
    listing = engine.containers.get(hub).exec_run(["ls", "/srv/jupyterhub/data"]).output.decode().split()
    assert [name for name in listing if name.startswith("jupyterhub.sqlite.")], f"no backup in {listing}"

    again = HubUser(stack.url, "boss")
    assert again.wait_for_hub_and_login(password), "the same password after the upgrade"
    assert again.api("GET", "users/boss").json()["admin"] is True
    assert engine.containers.get(f"{stack.prefix}-user-boss").id == server, "the server kept running"
    assert again.get_contents("before.ipynb").status_code == 200
