"""Servers for a class, below the hub: the idle culler's command line against the installed
package, the prestart grace period, profile choice and GPU device requests, config errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from docker.types import HostConfig
from jupyterhub.scopes import scope_definitions
from jupyterhub_idle_culler import IdleCuller  # type: ignore[import-untyped]
from tornado import web
from traitlets.config import Config

from config.stack import ConfigError, parse_stack_config
from hub import hardening
from hub.contract import ProfileSettings, memory_bytes
from hub.culler import culling
from hub.servers import culler_command, throttling
from hub.spawners import profiles
from tests.unit.test_hub_config import SHARED, User, configured, documents


def test_culler_command_uses_only_flags_the_installed_culler_has() -> None:
    command = culler_command({"timeout": 30, "every": 10, "maxAge": 0, "cullUsers": True})
    assert command[1:3] == ["-m", "jupyterhub_idle_culler"]
    flags = [arg.removeprefix("--").split("=", 1)[0] for arg in command[3:]]
    assert set(flags) <= set(IdleCuller.aliases), (
        f"unknown to jupyterhub-idle-culler: {set(flags) - set(IdleCuller.aliases)}"
    )
    # Parsed as the culler parses its argv: the values land on the traits.
    app = IdleCuller()
    app.parse_command_line(command[3:])
    assert (app.timeout, app.cull_every, app.cull_users) == (30, 10, True)
    assert app.config_file.endswith("hub/culler/culler_config.py")


def test_culler_service_role_holds_only_the_scopes_it_needs() -> None:
    c = configured({"auth": SHARED, "culler": {"timeout": 600}})
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert roles["idle-culler"]["scopes"] == [
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    ]
    assert roles["metrics"]["scopes"] == ["read:metrics"]
    assert roles["prestart"]["scopes"] == ["read:servers", "start:servers"]
    # Scopes this JupyterHub knows (an unknown one stops the hub at start); start:servers is 6.x's.
    known = set(scope_definitions)
    assert {s for role in c.JupyterHub.load_roles for s in role["scopes"]} <= known
    # Activity reaches the hub often enough for the timeout.
    assert c.JupyterHub.last_activity_interval == 150
    assert c.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"] == "150"
    with_users = configured({"auth": SHARED, "culler": {"cullUsers": True}})
    culler_role = next(r for r in with_users.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert "admin:users" in culler_role["scopes"]
    off = configured({"auth": SHARED, "culler": {"enabled": False}})
    assert [s["name"] for s in off.JupyterHub.services] == ["metrics", "prestart"]


def test_culler_kernel_culling_is_passed_to_every_server() -> None:
    c = configured({"auth": SHARED, "culler": {"kernelTimeout": 900}})
    assert c.Spawner.args == [
        "--MappingKernelManager.cull_idle_timeout=900",
        "--MappingKernelManager.cull_interval=300",
        "--MappingKernelManager.cull_connected=True",
    ]
    assert "args" not in configured({"auth": SHARED, "culler": {"kernelTimeout": 0}}).Spawner


def _server(started: datetime, last_activity: datetime, full_name: str = "pat/") -> dict[str, Any]:
    return {
        "full_name": full_name,
        "started": started.isoformat(),
        "last_activity": last_activity.isoformat(),
    }


def test_culler_grace_keeps_an_unused_prestarted_server_only() -> None:
    now = datetime.now(UTC)
    started = now - timedelta(hours=1)
    grace = timedelta(hours=2)
    server = _server(started, started + timedelta(seconds=5))
    by_prestart = {"pat": server["started"]}
    assert culling.in_grace(server, grace, now, by_prestart)
    # Used since the prestart, started again since, past the grace period, or a named server.
    assert not culling.in_grace(_server(started, now - timedelta(minutes=5)), grace, now, by_prestart)
    assert not culling.in_grace(server, grace, now, {"pat": (started + timedelta(1)).isoformat()})
    assert not culling.in_grace(server, timedelta(minutes=30), now, by_prestart)
    assert not culling.in_grace(_server(started, started, "pat/extra"), grace, now, by_prestart)


def _profile(name: str, **access: Any) -> ProfileSettings:
    return {
        "name": name,
        "displayName": name.title(),
        "description": "",
        "image": "Default",
        "memLimit": "1G",
        "memGuarantee": "512M",
        "cpuLimit": 1.0,
        "placement": [],
        "gpus": None,
        "environment": {},
        "access": {
            "everyone": not access,
            "users": access.get("users", []),
            "groups": access.get("groups", []),
            "admins": access.get("admins", False),
        },
        "default": False,
        "startsAsRoot": False,
    }


PROFILES = [_profile("small"), _profile("big", admins=True), _profile("lab", groups=["staff"], users=["ada"])]


def test_profile_choice_is_checked_for_the_user() -> None:
    student, admin = User(False, []), User(True, [])
    staff, ada = User(False, ["staff"]), User(False, [], name="ada")
    assert profiles.choose(PROFILES, student, {})["name"] == "small"
    assert profiles.choose(PROFILES, admin, {"profile": "big"})["name"] == "big"
    assert profiles.choose(PROFILES, staff, {"profile": "lab"})["name"] == "lab"
    assert profiles.choose(PROFILES, ada, {"profile": "lab"})["name"] == "lab"
    refusals: list[tuple[dict[str, Any], int]] = [
        ({"profile": "big"}, 403),
        ({"profile": "lab"}, 403),
        ({"profile": "huge"}, 400),
        ({"profile": ["big"]}, 400),
        ({"image": "evil:latest"}, 400),
    ]
    for options, status in refusals:
        with pytest.raises(web.HTTPError) as refused:
            profiles.choose(PROFILES, student, options)
        assert refused.value.status_code == status, options
    assert profiles.render_form(profiles.allowed(PROFILES, student)) == "", "one choice: no form"
    form = profiles.render_form(profiles.allowed(PROFILES, admin))
    assert 'value="small" checked' in form and 'value="big"' in form and 'value="lab"' not in form


def test_profile_gpus_are_the_device_request_docker_run_gpus_sends() -> None:
    """Through docker-py's own HostConfig, as DockerSpawner passes extra_host_config to it."""

    def api_request(gpus: Any) -> Any:
        config = HostConfig(version="1.43", device_requests=hardening.device_requests(gpus))
        return [dict(r) for r in config["DeviceRequests"]]

    every = [{"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}]
    assert api_request({"count": -1, "deviceIds": []}) == every
    assert api_request({"count": 2, "deviceIds": []})[0]["Count"] == 2
    listed = api_request({"count": 0, "deviceIds": ["0", "GPU-3a8f"]})[0]
    assert (listed["Count"], listed["DeviceIDs"]) == (0, ["0", "GPU-3a8f"])
    settings, _ = documents(
        {"auth": SHARED, "profiles": [{"name": "gpu", "gpus": "all"}, {"name": "two", "gpus": 2}]}
    )
    assert [p["gpus"] for p in settings["profiles"]] == [
        {"count": -1, "deviceIds": []},
        {"count": 2, "deviceIds": []},
    ]


# The host and this project's machines: 2 cores, /proc/meminfo MemTotal 24683568 kB.
CLASS_HOST = (2, 24683568 * 1024)


def test_admission_the_defaults_admit_a_class_of_30_on_a_24_gib_host() -> None:
    settings, _ = documents({"auth": SHARED})
    assert (settings["spawner"]["memLimit"], settings["spawner"]["memGuarantee"]) == ("2G", "512M")
    c = Config()
    throttling(c, settings, CLASS_HOST)
    # 90 % of 23.5 GiB at the 512 MiB guarantee; by the 2 GiB cap it was 10.
    assert c.JupyterHub.active_server_limit == int(24683568 * 1024 * 0.9) // (512 * 2**20) == 42
    assert c.JupyterHub.concurrent_spawn_limit == 50
    throttling(c, settings, (2, 24 * 2**30))
    assert c.JupyterHub.active_server_limit == 43 >= 30


def test_admission_is_by_the_largest_guarantee_of_the_profiles_not_by_their_limits() -> None:
    profiles = [
        {"name": "small", "memLimit": "1G", "default": True},
        {"name": "big", "memLimit": "8G", "memGuarantee": "2G"},
        {"name": "tiny", "memLimit": "256M"},
    ]
    settings, _ = documents({"auth": SHARED, "profiles": profiles})
    assert [(p["memLimit"], p["memGuarantee"]) for p in settings["profiles"]] == [
        ("1G", "512M"),
        ("8G", "2G"),
        # The default guarantee, no larger than the profile's own cap.
        ("256M", "256M"),
    ]
    c = Config()
    throttling(c, settings, (2, 24 * 2**30))
    assert c.JupyterHub.active_server_limit == int(24 * 2**30 * 0.9) // (2 * 2**30) == 10
    small, _ = documents({"auth": SHARED, "spawner": {"memLimit": "256M"}})
    assert small["spawner"]["memGuarantee"] == "256M"
    set_, _ = documents({"auth": SHARED, "spawner": {"memGuarantee": "1G"}})
    throttling(c, set_, (2, 24 * 2**30))
    assert c.JupyterHub.active_server_limit == 21


def test_throttling_follows_the_host_unless_set() -> None:
    c = configured({"auth": SHARED})
    fixed, _ = documents({"auth": SHARED, "spawner": {"concurrentSpawnLimit": 5, "activeServerLimit": 0}})
    throttling(c, fixed, (64, 2**40))
    assert (c.JupyterHub.concurrent_spawn_limit, c.JupyterHub.active_server_limit) == (5, 0)
    assert memory_bytes("1536M") == 1536 * 2**20


def test_on_a_swarm_the_managers_memory_does_not_cap_the_class() -> None:
    swarm = {
        "auth": SHARED,
        "orchestrator": "swarm",
        "network": {"isolation": False},
        "notebook": {"image": "quay.io/jupyter/base-notebook:2024-12-02"},
    }
    settings, _ = documents(swarm)
    c = Config()
    throttling(c, settings, (2, 4 * 2**30))
    assert c.JupyterHub.concurrent_spawn_limit == 50
    assert "active_server_limit" not in c.JupyterHub
    settings, _ = documents({**swarm, "spawner": {"activeServerLimit": 40}})
    throttling(c, settings, (2, 4 * 2**30))
    assert c.JupyterHub.active_server_limit == 40


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"profiles": [{"name": "a", "image": "Nope"}]},
            "profiles[0].image: 'Nope' is not one of the notebook images",
        ),
        ({"profiles": [{"name": "a"}, {"name": "a"}]}, "profiles: duplicate names ['a']"),
        ({"profiles": [{"name": "Big One"}]}, "profiles[0].name: must be 1-40 characters"),
        ({"profiles": [{"name": "g", "gpus": 0}]}, "profiles[0].gpus"),
        ({"profiles": [{"name": "e", "environment": {"JUPYTERHUB_API_TOKEN": "x"}}]}, "set by the hub"),
        ({"profiles": [{"name": "n", "allowed": {}}]}, "profiles[0].allowed: allowed: names nobody"),
        (
            {"workshop": {"prestart": True}},
            "workshop.prestart starts the servers of the users the stack lists",
        ),
        ({"culler": {"timeout": 60, "every": 120}}, "culler.every (120) is longer than culler.timeout (60)"),
        ({"namedServers": {"limit": -1}}, "namedServers.limit"),
    ],
)
def test_servers_config_errors_name_the_setting(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"auth": SHARED, **raw}, {"auth"})
    assert message in str(error.value), str(error.value)


def test_memory_sizes_are_read_as_jupyterhub_reads_them_lower_case_suffixes_too() -> None:
    from jupyterhub.traitlets import ByteSpecification

    spec = ByteSpecification()
    for size in ("100K", "512M", "2G", "1T"):
        assert memory_bytes(size) == spec.validate(None, size), size
    # The stack config accepts `2g`; ByteSpecification alone would refuse it at the spawn, so
    # the hub hands DockerSpawner the number (hub/apply.py, hub/spawners/profiles.py).
    assert memory_bytes("2g") == memory_bytes("2G") == 2 * 2**30
    assert memory_bytes("1073741824") == 2**30
    c = configured({"auth": SHARED, "spawner": {"memLimit": "512m"}})
    assert c.DockerSpawner.mem_limit == 512 * 2**20
