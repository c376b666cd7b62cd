"""orchestrator: swarm: what the config accepts, what it refuses (naming the setting and the fix),
and the spawner's pinned homes across JupyterHub's state handling."""

from __future__ import annotations

from typing import Any

from config.stack import parse_stack_config
from hub.spawners.swarm_spawner import StackSwarmSpawner, placement_constraints
from plan.deployment_plan import registry_server
from tests.unit.test_config import SHARED, problems

PULLED = {"image": "quay.io/jupyter/base-notebook:2024-12-02"}
SWARM: dict[str, Any] = {
    "auth": SHARED,
    "orchestrator": "swarm",
    "network": {"isolation": False},
    "registry": {"enabled": True, "address": "192.0.2.10", "port": 5000},
}


def test_swarm_with_a_reachable_registry_is_valid_and_nodes_pull_by_that_address() -> None:
    config = parse_stack_config(SWARM, {"auth"})
    assert config.orchestrator == "swarm"
    assert registry_server(config) == "192.0.2.10:5000"
    # One host keeps pulling through localhost, which Docker allows over plain HTTP.
    single = parse_stack_config({"auth": SHARED, "registry": {"enabled": True}}, {"auth"})
    assert registry_server(single) == "localhost:5000"


def test_swarm_with_pulled_images_needs_no_registry() -> None:
    config = parse_stack_config({**SWARM, "registry": {}, "notebook": PULLED}, {"auth"})
    assert not config.registry.enabled


def test_swarm_refuses_network_isolation_with_the_setting_to_change() -> None:
    found = problems({**SWARM, "network": {}})
    assert "network.isolation: not available with orchestrator: swarm" in found
    assert "set network.isolation: false" in found


def test_swarm_refuses_built_images_without_a_registry_every_node_reaches() -> None:
    unregistered = problems({**SWARM, "registry": {}})
    assert "registry.enabled: notebook images built by the stack (Default)" in unregistered
    loopback = problems({**SWARM, "registry": {"enabled": True}})
    assert "registry.address: 127.0.0.1 cannot be reached from other swarm nodes" in loopback
    anywhere = problems({**SWARM, "registry": {"enabled": True, "address": "0.0.0.0"}})
    assert "registry.address: 0.0.0.0 cannot be reached" in anywhere


def test_swarm_refuses_shared_folders_and_gpu_profiles() -> None:
    shared = [{"name": "course", "target": "/srv/course", "source": {"volume": {}}}]
    assert "shared: shared folders are not available with orchestrator: swarm" in problems(
        {**SWARM, "shared": shared}
    )
    gpu = [{"name": "gpu", "gpus": 1}]
    assert "profiles[0].gpus: a Swarm service cannot request GPUs" in problems({**SWARM, "profiles": gpu})


def test_placement_is_swarm_only_and_must_be_a_swarm_constraint() -> None:
    placed = [{"name": "big", "placement": ["node.labels.size==large"]}]
    assert parse_stack_config({**SWARM, "profiles": placed}, {"auth"}).profiles[0].placement == (
        "node.labels.size==large",
    )
    assert "profiles[0].placement: only applies with orchestrator: swarm" in problems(
        {"auth": SHARED, "profiles": placed}
    )
    bad = [{"name": "big", "placement": ["node.labels.size == large"]}]
    assert "is not a Swarm constraint such as node.labels.gpu==true" in problems({**SWARM, "profiles": bad})


def test_a_home_is_pinned_to_its_node_and_the_pin_survives_jupyterhubs_clear_state() -> None:
    assert placement_constraints(["node.labels.size==large"], "") == ["node.labels.size==large"]
    assert placement_constraints([], "n0de1d") == ["node.id==n0de1d"]
    spawner = StackSwarmSpawner()
    spawner.load_state({"object_id": "abc", "object_name": "jhub-s-user-ann", "node_id": "n0de1d"})
    assert spawner.pinned_node == "n0de1d"
    # JupyterHub clears the state after each stop and saves what get_state returns then.
    spawner.clear_state()
    assert spawner.get_state()["node_id"] == "n0de1d"
    fresh = StackSwarmSpawner()
    fresh.load_state({"object_name": "jhub-s-user-bob"})
    assert fresh.pinned_node == "" and "node_id" not in fresh.get_state()
