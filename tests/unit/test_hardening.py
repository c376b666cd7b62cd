"""Least privilege below the hub: the host config every user container gets, through docker-py's
own HostConfig as DockerSpawner passes it, per profile; bounded Docker-safe names."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from docker.types import HostConfig
from dockerspawner import DockerSpawner
from traitlets import Dict

from hub import apply, names
from hub.hardening import ROOT_START_CAPABILITIES
from hub.spawners import profiles
from tests.unit.test_hub_config import SHARED, User, configured, documents


def engine_view(extra_host_config: dict[str, Any]) -> dict[str, Any]:
    """What the engine receives: docker-py's HostConfig, as DockerSpawner builds it."""
    return dict(HostConfig(version="1.41", **extra_host_config))


def test_user_containers_are_hardened_by_default() -> None:
    c = configured({"auth": SHARED})
    sent = engine_view(c.DockerSpawner.extra_host_config)
    assert sent["CapDrop"] == ["ALL"] and "CapAdd" not in sent
    assert sent["SecurityOpt"] == ["no-new-privileges:true"]
    assert sent["PidsLimit"] == 1024
    assert "ReadonlyRootfs" not in sent and "Tmpfs" not in sent
    assert "user" not in c.DockerSpawner.extra_create_kwargs
    assert set(c.DockerSpawner.extra_create_kwargs) == {"labels"}


def test_read_only_root_no_pids_limit_and_a_stack_that_starts_as_root() -> None:
    c = configured(
        {
            "auth": SHARED,
            "spawner": {"readOnlyRootFilesystem": True, "pidsLimit": 0, "startsAsRoot": True},
        }
    )
    sent = engine_view(c.DockerSpawner.extra_host_config)
    assert sent["ReadonlyRootfs"] is True
    assert sent["Tmpfs"] == {"/tmp": "rw,nosuid,nodev"}
    assert "PidsLimit" not in sent
    assert sent["CapAdd"] == list(ROOT_START_CAPABILITIES) and sent["CapDrop"] == ["ALL"]
    assert c.DockerSpawner.extra_create_kwargs["user"] == "0"


def test_profiles_rebuild_privileges_and_gpus_at_every_start() -> None:
    """The spawner object outlives a stop: a root or GPU profile, or its environment, must not
    stick to the next start with another profile, and the hardening stays on with a GPU."""
    settings, _ = documents(
        {
            "auth": SHARED,
            "spawner": {"pidsLimit": 300},
            "profiles": [
                {"name": "plain", "default": True},
                {"name": "root", "startsAsRoot": True, "gpus": "all", "environment": {"ROOTY": "1"}},
            ],
        }
    )
    assert [p["startsAsRoot"] for p in settings["profiles"]] == [False, True]
    apply = profiles.apply_profiles(settings["profiles"], settings["spawner"])
    spawner = SimpleNamespace(
        user=User(admin=False, groups=[]),
        environment={"JUPYTERHUB_ACTIVITY_INTERVAL": "60"},
        extra_host_config={"stale": True},
        extra_create_kwargs={},
    )
    apply(spawner, {"profile": "root"})
    sent = engine_view(spawner.extra_host_config)
    assert sent["CapAdd"] == list(ROOT_START_CAPABILITIES) and sent["CapDrop"] == ["ALL"]
    assert sent["PidsLimit"] == 300 and sent["DeviceRequests"][0]["Count"] == -1
    assert spawner.extra_create_kwargs == {"labels": settings["spawner"]["labels"], "user": "0"}
    assert spawner.environment == {"JUPYTERHUB_ACTIVITY_INTERVAL": "60", "ROOTY": "1"}
    apply(spawner, {"profile": "plain"})
    sent = engine_view(spawner.extra_host_config)
    assert "CapAdd" not in sent and "DeviceRequests" not in sent and sent["PidsLimit"] == 300
    assert spawner.extra_create_kwargs == {"labels": settings["spawner"]["labels"]}
    assert spawner.environment == {"JUPYTERHUB_ACTIVITY_INTERVAL": "60"}


def test_a_profile_inherits_starts_as_root_from_the_spawner_unless_it_says() -> None:
    settings, _ = documents(
        {
            "auth": SHARED,
            "spawner": {"startsAsRoot": True},
            "profiles": [{"name": "inherits"}, {"name": "own", "startsAsRoot": False}],
        }
    )
    assert [p["startsAsRoot"] for p in settings["profiles"]] == [True, False]


def test_escaped_names_are_dockerspawners_until_too_long_then_bounded_and_distinct() -> None:
    for name in ("ann", "a-b", "a-2db", "zoë", "a%2fb", "x" * 100):
        assert names.escape(name) == DockerSpawner._escape(name)
    assert names.escape("a-b") != names.escape("a-2db")
    long_names = ["x" * 101, "x" * 102, "x" * 300, "é" * 40, "é" * 41, "-" * 200, "x" * 77 + "-" * 50]
    escaped = [names.escape(n) for n in long_names]
    assert len(set(escaped)) == len(long_names)
    for name, result in zip(long_names, escaped, strict=True):
        assert len(result) <= names.MAX_ESCAPED, name
        assert "--" not in result, result  # the user/server separator in home volume names
        assert set(result) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        assert names.escape(name) == result, "stable"
    configured_escape = configured({"auth": SHARED}).DockerSpawner.escape
    assert configured_escape is names.escape


def test_behind_https_every_cookie_is_secure_and_kernel_culling_args_stay() -> None:
    c = configured({"auth": SHARED, "tls": {"mode": "self-signed", "domain": "hub.test"}})
    assert c.JupyterHub.tornado_settings == {"cookie_options": {"secure": True}}
    culling = [a for a in c.Spawner.args if a.startswith("--MappingKernelManager.")]
    assert culling and c.Spawner.args[-1] == apply.SERVER_SECURE_XSRF
    # Parsed as jupyter-server's command line parses it.
    value = apply.SERVER_SECURE_XSRF.split("=", 1)[1]
    assert Dict().from_string(value) == {"xsrf_cookie_kwargs": {"secure": True}}
    terminator = configured({"auth": SHARED, "tls": {"behindTlsTerminator": True}})
    assert terminator.JupyterHub.tornado_settings == {"cookie_options": {"secure": True}}
    plain = configured({"auth": SHARED})
    assert "tornado_settings" not in plain.JupyterHub
    assert apply.SERVER_SECURE_XSRF not in plain.Spawner.args
