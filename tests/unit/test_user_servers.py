"""The destroy-time cleanup's registered inputs: under Swarm its own script and settings, and
for a stack on one engine exactly what it registered before Swarm (tests/unit/snapshots)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from components.lifecycle import UserServersArgs, user_servers_environment, user_servers_script
from host_scripts import script, source
from plan.naming import StackNames

NAMES = StackNames(project="jupyterhub-docker", stack="class")


def _args(**changes: Any) -> UserServersArgs:
    host = SimpleNamespace(command_env={"DOCKER_HOST": "tcp://10.0.0.1:2376"})
    settings: dict[str, Any] = {
        "host": cast(Any, host),
        "names": NAMES,
        "network": "jhub-class-net",
        "users_network": None,
        "keep_data": False,
        "depends_on": (),
    }
    return UserServersArgs(**{**settings, **changes})


def test_one_engine_gets_no_swarm_settings_and_the_single_host_script() -> None:
    environment = user_servers_environment(_args())
    assert not [key for key in environment if "ORCHESTRATOR" in key or "CLEANUP" in key]
    assert user_servers_script(_args()) == script("remove_user_servers")


def test_swarm_gets_its_own_script_the_image_and_the_per_node_code() -> None:
    args = _args(orchestrator="swarm", cleanup_image="registry:5000/notebook@sha256:abc", keep_data=True)
    environment = user_servers_environment(args)
    assert environment["JHUB_ORCHESTRATOR"] == "swarm"
    assert environment["JHUB_CLEANUP_IMAGE"] == "registry:5000/notebook@sha256:abc"
    assert environment["JHUB_CLEANUP_NAME"] == "jhub-class-cleanup"
    assert environment["JHUB_NODE_CLEANUP_SCRIPT"] == source("node_cleanup")
    assert environment["JHUB_KEEP_DATA"] == "true"
    assert source("remove_user_servers_swarm") in user_servers_script(args)


def test_swarm_without_a_cleanup_image_is_refused() -> None:
    with pytest.raises(ValueError, match="cleanup_image"):
        user_servers_environment(_args(orchestrator="swarm"))
