"""Upgrades: a stack deployed from this project as it was at JupyterHub 5.5.4 (the last commit of
main before 6.x, checked out afresh) is upgraded with `up` from this checkout. Everyone logs in
as before (an admin, and a native user the admin approved), the running server keeps running, a
named server whose name JupyterHub 6 would no longer accept starts again on its own home, and a
copy of the old database is kept next to the new one."""

from __future__ import annotations

import secrets
import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import docker

from hub.names import escape
from tests.deployers import PROJECT_DIR, Deployer
from tests.e2e.conftest import Deployment, StackFactory
from tests.e2e.hubclient import HubUser
from tests.e2e.polling import eventually

# The last commit of main whose hub ran JupyterHub 5.5.4 (it landed on 2026-12-03); a clone of
# this repository has it.
OLD_MAIN = "f2fbf660f32970166d1dc1ff5b1effb5bd5c8ccc"
OLD_JUPYTERHUB = "5.5.4"
# Valid on 5.x; on 6.x a new server may only be named with a-z, 0-9 and '-' (upgrading-v6).
OLD_SERVER_NAME = "Lab_1"


def _checkout_of(commit: str, destination: Path) -> Path:
    """The project's tree at `commit`, as `git clone` + `git checkout` give it."""
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_DIR), "archive", "--format=tar", commit],
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"git archive {commit}: {archive.stderr.decode()[:300]}; the upgrade test needs the "
        "project's history (a full clone, not a shallow one)"
    )
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def _version(engine: docker.DockerClient, container: str) -> str:
    return str(engine.containers.get(container).exec_run(["jupyterhub", "--version"]).output.decode().strip())


def _named(hub_user: HubUser) -> dict[str, dict[str, object]]:
    servers: dict[str, dict[str, object]] = hub_user.api("GET", f"users/{hub_user.name}").json()["servers"]
    return servers


def test_jupyterhub6_upgrade_from_main_at_5_keeps_logins_servers_and_named_homes(
    make_stack: StackFactory, deployer: Deployer, engine: docker.DockerClient, tmp_path: Path
) -> None:
    old_checkout = _checkout_of(OLD_MAIN, tmp_path / "old")
    assert f"jupyterhub=={OLD_JUPYTERHUB}\n" in (old_checkout / "hub" / "requirements.txt").read_text()
    stack: Deployment = make_stack(
        {"type": "native", "admins": ["boss"], "allowAll": True},
        extra={"namedServers": {"limit": 2}},
        deploy=False,
    )
    deployer.project_dir = old_checkout
    try:
        stack.up()
    finally:
        deployer.project_dir = PROJECT_DIR
    hub = f"{stack.prefix}-hub"
    assert _version(engine, hub) == OLD_JUPYTERHUB

    boss_password, ana_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    boss = HubUser(stack.url, "boss")
    assert boss.signup(boss_password).status_code == 200
    boss.login(boss_password)
    assert boss.logged_in()
    ana = HubUser(stack.url, "ana")
    assert ana.signup(ana_password).status_code == 200
    assert boss.session.get(boss.url("hub/authorize/ana"), timeout=30).status_code == 200
    ana.login(ana_password)
    assert ana.logged_in(), "approved on 5.5.4"

    boss.start_server()
    assert boss.put_notebook("before.ipynb", "print('written on 5.5')").status_code == 201
    server = engine.containers.get(f"{stack.prefix}-user-boss").id
    assert boss.api("POST", f"users/boss/servers/{OLD_SERVER_NAME}", json={}).status_code in (201, 202)
    eventually(
        lambda: (_named(boss).get(OLD_SERVER_NAME) or {}).get("ready"), timeout=120, what="the named server"
    )
    # DockerSpawner lowercases a server's name before it escapes it (dockerspawner.py
    # `template_namespace`): "Lab_1" runs as ...--lab-5f1.
    safe_name = escape(OLD_SERVER_NAME.lower())
    named_container = f"{stack.prefix}-user-boss--{safe_name}"
    named_home = f"{stack.prefix}-home-boss--{safe_name}"
    wrote = engine.containers.get(named_container).exec_run(["sh", "-c", "echo kept > /home/jovyan/kept.txt"])
    assert wrote.exit_code == 0, wrote.output
    assert boss.api("DELETE", f"users/boss/servers/{OLD_SERVER_NAME}").status_code in (202, 204)
    eventually(
        lambda: not (_named(boss).get(OLD_SERVER_NAME) or {}).get("ready"), timeout=60, what="it stopped"
    )

    stack.up()  # this checkout: JupyterHub 6
    assert _version(engine, hub).startswith("6.")
    listing = engine.containers.get(hub).exec_run(["ls", "/srv/jupyterhub/data"]).output.decode().split()
    assert [name for name in listing if name.startswith("jupyterhub.sqlite.")], f"no backup in {listing}"

    again = HubUser(stack.url, "boss")
    assert again.wait_for_hub_and_login(boss_password), "the same password after the upgrade"
    assert again.api("GET", "users/boss").json()["admin"] is True
    ana_again = HubUser(stack.url, "ana")
    ana_again.login(ana_password)
    assert ana_again.logged_in(), "still approved on 6"
    assert engine.containers.get(f"{stack.prefix}-user-boss").id == server, "the server kept running"
    assert again.get_contents("before.ipynb").status_code == 200

    # The old name starts again, under its name and on its home (never renamed); a new server
    # with such a name is refused by JupyterHub 6, with its reason.
    assert again.api("POST", f"users/boss/servers/{OLD_SERVER_NAME}", json={}).status_code in (201, 202)
    eventually(
        lambda: (_named(again).get(OLD_SERVER_NAME) or {}).get("ready"), timeout=120, what="it started on 6"
    )
    restarted = engine.containers.get(named_container)
    homes = {m["Name"]: m["Destination"] for m in restarted.attrs["Mounts"] if m["Type"] == "volume"}
    assert homes == {named_home: "/home/jovyan"}
    assert restarted.exec_run(["cat", "/home/jovyan/kept.txt"]).output == b"kept\n"
    refused = again.api("POST", "users/boss/servers/Lab_2", json={})
    assert refused.status_code == 400 and "Invalid server_name" in refused.text, refused.text
