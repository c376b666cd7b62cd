"""Backup and restore (`python -m ops`): people, approvals, admin flags and files come back
byte for byte in a new stack after the old one is destroyed with its data."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path

import docker

from plan.build import hub_jupyterhub_version
from tests.deployers import PROJECT_DIR
from tests.e2e.conftest import Deployment, StackFactory, stack_objects
from tests.e2e.hubclient import HubUser

NATIVE = {"type": "native", "admins": ["boss"], "allowAll": True}


def ops(stack: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    """The command a person runs next to `pulumi`, in the project, on the stack's config file."""
    options = ["--project-dir", str(PROJECT_DIR), "--config-file", str(stack.spec.config_file)]
    return subprocess.run(
        [sys.executable, "-m", "ops", *options, *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _signed_up(stack: Deployment, name: str, boss: HubUser | None = None) -> tuple[HubUser, str]:
    password = secrets.token_urlsafe(12)
    user = HubUser(stack.url, name)
    assert user.signup(password).status_code == 200
    if boss is not None:
        assert boss.session.get(boss.url(f"hub/authorize/{name}"), timeout=30).status_code == 200
    user.login(password)
    assert user.logged_in()
    return user, password


def test_backup_then_destroy_then_restore_into_a_new_stack_brings_everyone_back(
    make_test_stack: StackFactory, engine: docker.DockerClient, tmp_path: Path
) -> None:
    old = make_test_stack(NATIVE)
    boss, boss_password = _signed_up(old, "boss")
    alice, alice_password = _signed_up(old, "alice", boss)
    alice.start_server()
    blob = secrets.token_bytes(300_000)
    written = alice.run_code(f"open('/home/jovyan/data.bin', 'wb').write(bytes.fromhex({blob.hex()!r}))")
    assert written == str(len(blob))

    saved = ops(old, "backup", "--stack", old.spec.name, "--out", str(tmp_path))
    assert saved.returncode == 0, saved.stderr
    archive = Path(saved.stdout.strip().rsplit(" ", 1)[-1])
    manifest = json.loads((archive / "manifest.json").read_text())
    assert manifest["stack"] == old.spec.name
    assert manifest["jupyterhubVersion"] == hub_jupyterhub_version(PROJECT_DIR)
    assert f"{old.prefix}-user-alice" in manifest["runningServers"]
    roles = {v["suffix"]: v["role"] for v in manifest["volumes"]}
    assert roles["data"] == "hub-data" and roles["home-alice"] == "user-home"
    assert not list(tmp_path.glob("*.partial")), "no half-written archive is left"

    old.destroy()  # keepData is off: the volumes are gone
    assert stack_objects(engine, old.spec.name)["volumes"] == []

    new = make_test_stack(NATIVE)
    restored = ops(new, "restore", "--stack", new.spec.name, str(archive))
    assert restored.returncode == 0, restored.stderr
    assert f"{new.prefix}-home-alice" in restored.stdout

    again = HubUser(new.url, "alice")
    again.wait_for_hub_and_login(alice_password)
    assert again.logged_in(), "alice is still approved, with the same password"
    admin = HubUser(new.url, "boss")
    admin.wait_for_hub_and_login(boss_password)
    assert admin.api("GET", "users/boss").json()["admin"] is True
    again.start_server()
    same = again.run_code(
        "__import__('hashlib').sha256(open('/home/jovyan/data.bin', 'rb').read()).hexdigest()"
    )
    assert same.strip("'") == hashlib.sha256(blob).hexdigest(), "the file came back byte for byte"

    # A second restore into a stack whose homes hold data is refused, changing nothing.
    refused = ops(new, "restore", "--stack", new.spec.name, str(archive))
    assert refused.returncode == 1
    assert f"{new.prefix}-home-alice" in refused.stderr and "--overwrite" in refused.stderr


def test_backup_of_a_stack_that_is_not_deployed_says_so(
    make_test_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_test_stack(NATIVE, deploy=False)
    result = ops(stack, "backup", "--stack", stack.spec.name, "--out", str(tmp_path))
    assert result.returncode == 1
    assert f"no hub container {stack.prefix}-hub" in result.stderr and "pulumi up" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing written"
