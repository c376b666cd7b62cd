"""Servers for a class: idle culling (servers and kernels), metrics, profiles enforced by the hub,
GPU requests, named servers, and servers prestarted for a class, on real stacks."""

from __future__ import annotations

import ast
import functools
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from tests.e2e.conftest import ADMIN_PASSWORD, USER_PASSWORD, Deployment, StackFactory, stack_objects
from tests.e2e.hubclient import HubUser
from tests.e2e.polling import eventually
from tests.e2e.test_backup import ops

SECRETS = {"auth.password": USER_PASSWORD, "auth.adminPassword": ADMIN_PASSWORD}
# Short enough for a test: a server idle for 20 s is culled within the next 5 s check. The hub
# then learns of activity every 5 s (hub/servers.py `activity_interval`), so a server in use,
# polled every 2 s, is never 20 s idle to the culler even on a loaded machine.
CULLER = {"timeout": 20, "every": 5, "kernelTimeout": 15}


@pytest.fixture(scope="module")
def culling(make_stack: StackFactory) -> Deployment:
    return make_stack(
        {"type": "shared-password", "admins": ["teacher"], "allowAll": True},
        secret_config=SECRETS,
        extra={"culler": CULLER},
    )


@functools.cache
def admin_session(url: str) -> HubUser:
    """The teacher, logged in once: logging in again would open the teacher's own server (the
    hub sends a person with a running server there), which counts as using it."""
    admin = HubUser(url, "teacher")
    assert admin.login(ADMIN_PASSWORD).status_code == 200
    return admin


def servers(stack: Deployment, user: str) -> dict[str, dict[str, object]]:
    """The user's servers as an admin sees them through the REST API."""
    admin = admin_session(stack.url)
    found: dict[str, dict[str, object]] = admin.api("GET", f"users/{user}").json().get("servers", {})
    return found


def running(engine: docker.DockerClient, name: str) -> bool:
    found = engine.containers.list(filters={"name": f"^{name}$"})
    return bool(found) and found[0].status == "running"


def culler_log(stack: Deployment, engine: docker.DockerClient) -> str:
    """What the idle culler said, from the hub's log: for a failure message."""
    log = engine.containers.get(f"{stack.prefix}-hub").logs().decode(errors="replace")
    return "\n".join(line for line in log.splitlines() if "cull" in line.lower())[-4000:]


def metric(stack: Deployment, token: str, name: str) -> float:
    response = requests.get(
        stack.url + "hub/metrics", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    match = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", response.text, re.MULTILINE)
    assert match, f"{name} not in the metrics"
    return float(match.group(1))


def test_metrics_need_the_metrics_token_and_count_running_servers(culling: Deployment) -> None:
    token = str(culling.outputs["metricsToken"])
    assert requests.get(culling.url + "hub/metrics", timeout=30).status_code == 403
    wrong = requests.get(culling.url + "hub/metrics", headers={"Authorization": "token nope"}, timeout=30)
    assert wrong.status_code == 403
    # The token reads metrics and nothing else.
    users = requests.get(
        culling.url + "hub/api/users", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert users.status_code == 403

    before = metric(culling, token, "jupyterhub_running_servers")
    carol = HubUser(culling.url, "carol")
    assert carol.login(USER_PASSWORD).status_code == 200
    carol.start_server()
    eventually(
        lambda: metric(culling, token, "jupyterhub_running_servers") == before + 1,
        timeout=30,
        what="the running-servers gauge counting carol's server",
    )
    carol.stop_server()
    eventually(
        lambda: metric(culling, token, "jupyterhub_running_servers") == before,
        timeout=30,
        what="the running-servers gauge after carol's server stopped",
    )


def test_culler_stops_an_idle_server_and_kernel_but_not_a_server_in_use(
    culling: Deployment, engine: docker.DockerClient
) -> None:
    alice, bob = HubUser(culling.url, "alice"), HubUser(culling.url, "bob")
    for user in (alice, bob):
        assert user.login(USER_PASSWORD).status_code == 200
        user.start_server()
    # A kernel alice started and then left alone: shut down after kernelTimeout, although her
    # server stays busy.
    kernel = alice.session.post(
        alice.server_url("api/kernels"),
        json={"name": "python3"},
        headers={"X-XSRFToken": alice._server_xsrf()},
        timeout=60,
    ).json()["id"]

    # Alice keeps using her server (JupyterLab polls its contents like this); bob does nothing.
    stop = threading.Event()
    answers: list[int] = []

    def use() -> None:
        while not stop.is_set():
            answers.append(alice.server_get("api/contents").status_code)
            stop.wait(2)

    user_thread = threading.Thread(target=use, daemon=True)
    user_thread.start()
    try:
        eventually(lambda: not servers(culling, "bob"), timeout=180, what="bob's idle server culled")
        assert not running(engine, f"{culling.prefix}-user-bob")
        # Another full check interval after bob's cull: alice's server is still there.
        time.sleep(CULLER["every"] + 5)
        assert "" in servers(culling, "alice"), "the culler stopped a server in use"
        assert running(engine, f"{culling.prefix}-user-alice")
        eventually(
            lambda: kernel not in {k["id"] for k in alice.server_get("api/kernels").json()},
            timeout=120,
            what="alice's idle kernel shut down",
        )
    finally:
        stop.set()
        user_thread.join(timeout=30)
    assert answers and set(answers) == {200}, f"alice's requests: {sorted(set(answers))}"
    # The culled server's home volume stays.
    assert engine.volumes.get(f"{culling.prefix}-home-bob")


# --- a class: prestarted servers, profiles, named servers ---------------------------------------

CLASS = ["gina", "pat", "quinn"]
PROFILES = [
    {"name": "small", "displayName": "Small", "description": "1 GB", "default": True},
    {"name": "big", "displayName": "Big", "memLimit": "1536M", "allowed": {"admins": True}},
    {"name": "gpu", "displayName": "All GPUs", "gpus": "all", "allowed": {"users": ["gina"]}},
]


@pytest.fixture(scope="module")
def school(make_stack: StackFactory, engine: docker.DockerClient) -> Iterator[Deployment]:
    stack = make_stack(
        {"type": "shared-password", "admins": ["teacher"], "allowedUsers": CLASS},
        secret_config=SECRETS,
        extra={
            "culler": {"timeout": 20, "every": 5, "prestartGrace": 3600},
            "workshop": {"prestart": True},
            "profiles": PROFILES,
            "namedServers": {"limit": 2},
        },
    )
    yield stack
    # Destroy removes what the hub created at run time too: prestarted, profile and named
    # servers, and every home volume.
    stack.destroy()
    assert stack_objects(engine, stack.spec.name) == {"containers": [], "volumes": [], "networks": []}


def test_prestart_servers_run_after_up_and_outlive_the_idle_timeout(
    school: Deployment, engine: docker.DockerClient
) -> None:
    # `up` returned with every listed user's server running, before anyone logged in.
    for name in CLASS:
        assert running(engine, f"{school.prefix}-user-{name}"), f"{name}'s server was not prestarted"

    pat = HubUser(school.url, "pat")
    assert pat.login(USER_PASSWORD).status_code == 200
    started = time.monotonic()
    pat.start_server()  # already running: the spawn page goes straight to it
    assert time.monotonic() - started < 20, "pat's server was not ready at login"

    # The teacher's server, started by hand, is culled after the 20 s timeout; quinn's,
    # prestarted and never used, is kept for the grace period.
    teacher = admin_session(school.url)
    teacher.submit_spawn_form({"profile": "small"})
    teacher.wait_ready()
    try:
        eventually(lambda: not servers(school, "teacher"), timeout=180, what="the teacher's server culled")
    except AssertionError as failed:
        raise AssertionError(f"{failed}\n{culler_log(school, engine)}") from None
    assert running(engine, f"{school.prefix}-user-quinn"), "the culler stopped a prestarted server"


def _radio_values(page: str) -> list[str]:
    return re.findall(r'<input type="radio" name="profile" value="([^"]+)"', page)


def test_profile_form_offers_only_allowed_profiles_and_the_hub_refuses_others(
    school: Deployment, engine: docker.DockerClient
) -> None:
    teacher = admin_session(school.url)
    if servers(school, "teacher"):
        teacher.stop_server()
    form = teacher.session.get(teacher.url("hub/spawn/teacher"), timeout=30).text
    assert _radio_values(form) == ["small", "big"], "an admin sees the admins' profile, not gina's"
    teacher.submit_spawn_form({"profile": "big"})
    teacher.wait_ready()
    container = engine.containers.get(f"{school.prefix}-user-teacher")
    assert container.attrs["HostConfig"]["Memory"] == 1536 * 2**20

    quinn = HubUser(school.url, "quinn")
    assert quinn.login(USER_PASSWORD).status_code == 200
    quinn.stop_server()
    # A crafted form post and a REST API request for profiles quinn may not pick: no server.
    crafted = quinn.session.post(
        quinn.url("hub/spawn/quinn"), data={"profile": "big", "_xsrf": quinn._xsrf()}, timeout=60
    )
    assert "not available to quinn" in crafted.text, crafted.text[:500]
    api = quinn.api("POST", "users/quinn/server", json={"profile": "gpu"})
    assert api.status_code == 403, api.text
    assert "'gpu' is not available to quinn" in api.json()["message"]
    unknown = quinn.api("POST", "users/quinn/server", json={"image": "evil:latest"})
    assert unknown.status_code == 400, unknown.text
    time.sleep(2)  # a refused spawn must not have left a container behind in the meantime
    assert not servers(school, "quinn")
    assert engine.containers.list(all=True, filters={"name": f"^{school.prefix}-user-quinn$"}) == []


def test_jupyterhub6_a_link_with_opt_options_and_the_apis_user_options_pick_a_profile(
    school: Deployment, engine: docker.DockerClient
) -> None:
    """JupyterHub 6 reads spawn options from a GET's `opt-` parameters, and from the REST API's
    `user_options` key (upgrading-v6): a link a teacher hands out picks the profile."""
    teacher = admin_session(school.url)
    if servers(school, "teacher"):
        teacher.stop_server()
    link = teacher.session.get(teacher.url("hub/spawn/teacher?opt-profile=big"), timeout=60)
    assert link.status_code < 400, link.text[:500]
    teacher.wait_ready()
    container = engine.containers.get(f"{school.prefix}-user-teacher")
    assert container.attrs["HostConfig"]["Memory"] == 1536 * 2**20
    teacher.stop_server()
    started = teacher.api("POST", "users/teacher/server", json={"user_options": {"profile": "small"}})
    assert started.status_code in (201, 202), started.text
    teacher.wait_ready()
    container = engine.containers.get(f"{school.prefix}-user-teacher")
    assert container.attrs["HostConfig"]["Memory"] == 2**30, "small: the stack's memLimit, 1G"


def test_profile_gpus_become_a_device_request_and_fail_clearly_without_a_gpu_runtime(
    school: Deployment, engine: docker.DockerClient
) -> None:
    gina = HubUser(school.url, "gina")
    assert gina.login(USER_PASSWORD).status_code == 200
    gina.stop_server()
    form = gina.session.get(gina.url("hub/spawn/gina"), timeout=30).text
    assert _radio_values(form) == ["small", "gpu"]
    response = gina.api("POST", "users/gina/server", json={"profile": "gpu"})
    assert response.status_code in (201, 202, 500), response.text
    hub = engine.containers.get(f"{school.prefix}-hub")

    def logged() -> str | None:
        text = hub.logs().decode()
        return text if "asks for GPUs" in text else None

    log = eventually(logged, timeout=90, what="the hub's message about the GPU profile")
    # The exact request the engine recorded for the container: all GPUs, by capability.
    recorded = re.search(r"carries device requests (\[.*\])", log)
    assert recorded, log[-3000:]
    request = ast.literal_eval(recorded.group(1))
    assert len(request) == 1, request
    assert (request[0]["Driver"], request[0]["Count"], request[0]["Capabilities"]) == ("", -1, [["gpu"]])
    assert "install the NVIDIA Container Toolkit" in log
    eventually(lambda: not servers(school, "gina"), timeout=60, what="gina's failed spawn cleared")


def test_named_server_gets_its_own_home_and_the_limit_holds(
    school: Deployment, engine: docker.DockerClient, tmp_path: Path
) -> None:
    pat = HubUser(school.url, "pat")
    assert pat.login(USER_PASSWORD).status_code == 200
    assert pat.api("POST", "users/pat/servers/extra", json={}).status_code in (201, 202)
    eventually(
        lambda: (servers(school, "pat").get("extra") or {}).get("ready"),
        timeout=120,
        what="pat's named server ready",
    )
    container = engine.containers.get(f"{school.prefix}-user-pat--extra")
    homes = {m["Name"]: m["Destination"] for m in container.attrs["Mounts"] if m["Type"] == "volume"}
    assert homes == {f"{school.prefix}-home-pat--extra": "/home/jovyan"}
    volume = engine.volumes.get(f"{school.prefix}-home-pat--extra")
    # The label `pulumi destroy` and `python -m ops backup` select users' homes by.
    assert volume.attrs["Labels"]["org.jupyterhub-docker.role"] == "user-home"
    saved = ops(school, "backup", "--stack", school.spec.name, "--out", str(tmp_path))
    assert saved.returncode == 0, saved.stderr
    archive = Path(saved.stdout.strip().rsplit(" ", 1)[-1])
    roles = {v["suffix"]: v["role"] for v in json.loads((archive / "manifest.json").read_text())["volumes"]}
    assert roles["home-pat--extra"] == roles["home-pat"] == "user-home", roles
    assert pat.api("POST", "users/pat/servers/second", json={}).status_code in (201, 202)
    third = pat.api("POST", "users/pat/servers/third", json={})
    assert third.status_code == 400 and "maximum of 2 named servers" in third.text, third.text
