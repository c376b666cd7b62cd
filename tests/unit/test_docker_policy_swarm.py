"""The Docker API proxy's policy on a swarm (hub/api_proxy/service_policy.py through
hub/api_proxy/docker_policy.py), on the requests the hub's real spawner sends: StackSwarmSpawner
configured by hub/apply.py from a settings document with orchestrator swarm, started against an
engine stand-in behind docker-py's own HTTP client, so every request is serialised as it goes
over the wire; and on what an attacker in the hub would send instead."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

from hub.api_proxy.docker_policy import NO_BODY, Forward, PolicyDocument, Refused, policy_document
from hub.api_proxy.service_policy import is_user_service
from hub.spawners import swarm_spawner
from tests.unit.spawner_requests import (
    NODE_ID,
    TASK_ADDRESS,
    Request,
    ask,
    created,
    forwarded,
    make_spawner,
    start,
)
from tests.unit.test_hub_config import SHARED, documents

__all__ = ["PULLED", "make_spawner", "policy_for"]
PROFILES = [
    {"name": "plain", "default": True},
    {"name": "root", "startsAsRoot": True},
    {"name": "big", "placement": ["node.labels.size==big", "node.role==worker"]},
]
# What a swarm stack needs besides (config/swarm.py): no firewall, and the stack's
# registry on an address every node reaches, for the notebook image the stack builds.
REGISTRY = {"enabled": True, "address": "10.0.0.1", "username": "teacher", "password": "registry-pw"}
SWARM = {"auth": SHARED, "orchestrator": "swarm", "network": {"isolation": False}, "registry": REGISTRY}
# A swarm whose notebook image is pulled (by each node) needs no registry.
PULLED = {**SWARM, "registry": {"enabled": False}, "notebook": {"image": "local/python:3.11-bookworm"}}


def created_body(raw: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    body: dict[str, Any] = created(raw, **kwargs).body
    return body


def policy_for(raw: dict[str, Any]) -> PolicyDocument:
    settings, _ = documents(raw)
    return policy_document(settings)


def create(policy: PolicyDocument, body: Any) -> Forward | Refused:
    return ask(policy, "POST", "/v1.41/services/create", body=body)


def assert_every_request_passes(raw: dict[str, Any], **kwargs: Any) -> list[Request]:
    policy = policy_for(raw)
    requests_, _ = start(raw, **kwargs)
    for request in requests_:
        forwarded(policy, request)
    return requests_


def test_swarm_policy_passes_every_call_the_real_spawner_makes_for_the_default_config() -> None:
    requests_ = assert_every_request_passes(SWARM)
    routes = [(r.method, r.path.removeprefix("/v1.41")) for r in requests_]
    assert ("POST", "/services/create") in routes
    assert ("GET", "/services/jhub-unit-user-ann") in routes
    assert ("GET", "/tasks") in routes
    assert ("POST", "/auth") in routes, "the registry login (hub/apply.py) goes through the proxy too"
    body = created_body(SWARM)
    assert set(body) == {"Name", "Labels", "TaskTemplate", "EndpointSpec"}
    # Reached by the task's own address, not a virtual IP (hub/spawners/swarm_spawner.py `_specs`).
    assert body["EndpointSpec"] == {"Mode": "dnsrr"}
    container = body["TaskTemplate"]["ContainerSpec"]
    assert container["CapabilityDrop"] == ["ALL"] and "CapabilityAdd" not in container
    # The home's name filled in for this user (hub/spawners/swarm_spawner.py `mounts`).
    assert [m["Source"] for m in container["Mounts"]] == ["jhub-unit-home-ann"]
    assert body["TaskTemplate"]["Networks"] == [{"Target": policy_for(SWARM)["network"]}]
    tasks = [r for r in requests_ if r.path.endswith("/tasks")]
    assert json.loads(tasks[0].query["filters"]) == {"service": ["jhub-unit-user-ann"]}


def test_swarm_policy_passes_root_read_only_named_pinned_and_placed_servers() -> None:
    raw = {**SWARM, "spawner": {"readOnlyRootFilesystem": True}, "profiles": PROFILES}
    policy = policy_for(raw)
    assert policy["orchestrator"] == "swarm"
    assert policy["placements"] == [[], [], ["node.labels.size==big", "node.role==worker"]]
    for profile in ("plain", "root", "big"):
        assert_every_request_passes(raw, profile=profile)
        assert_every_request_passes(raw, profile=profile, pinned=NODE_ID)
    assert_every_request_passes(raw, profile="big", pinned=NODE_ID, server="lab")
    root = created_body(raw, profile="root")["TaskTemplate"]["ContainerSpec"]
    assert root["User"] == "0" and root["CapabilityAdd"] and root["ReadOnly"] is True
    assert {"Type": "tmpfs", "Target": "/tmp"}.items() <= root["Mounts"][1].items()
    placed = created_body(raw, profile="big", pinned=NODE_ID, server="lab")
    assert placed["Name"] == "jhub-unit-user-ann--lab"
    assert placed["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["Source"] == "jhub-unit-home-ann--lab"
    assert placed["TaskTemplate"]["Placement"]["Constraints"] == [
        "node.labels.size==big",
        "node.role==worker",
        f"node.id=={NODE_ID}",
    ]


def test_swarm_policy_the_spawner_keeps_the_node_its_home_landed_on() -> None:
    _, spawner = start(SWARM)
    assert spawner.get_state()["node_id"] == NODE_ID


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: set[str]) -> list[str]:
    """The engine's DNS answering the service's name with `answers`, one per question (the
    last one from then on); returns the names asked."""
    asked: list[str] = []

    async def resolve(name: str) -> set[str]:
        asked.append(name)
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(swarm_spawner, "resolve_all", resolve)
    monkeypatch.setattr(swarm_spawner, "NAME_POLL_SECONDS", 0.01)
    return asked


def test_swarm_the_hub_routes_to_the_services_name_once_it_names_the_running_task_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Right after a restart the name can still resolve to the stopped task's address too: the
    route waits until it names this task alone (tests/e2e/test_swarm.py's restart)."""
    _, spawner = start(SWARM)
    asked = _answers(monkeypatch, {"10.0.9.9", TASK_ADDRESS}, set(), {TASK_ADDRESS})
    assert asyncio.run(spawner.get_ip_and_port()) == (spawner.service_name, 8888)
    assert asked == [spawner.service_name] * 3


def test_swarm_a_name_that_never_settles_routes_to_the_tasks_own_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, spawner = start(SWARM)
    _answers(monkeypatch, {"10.0.9.9"})
    monkeypatch.setattr(swarm_spawner, "NAME_SETTLE_SECONDS", 0.05)
    assert asyncio.run(spawner.get_ip_and_port()) == (TASK_ADDRESS, 8888)


def test_swarm_names_are_resolved_by_the_system_resolver() -> None:
    assert asyncio.run(swarm_spawner.resolve_all("localhost")) == {"127.0.0.1"}
    assert asyncio.run(swarm_spawner.resolve_all("no-such-service.invalid")) == set()


def _container(body: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = body["TaskTemplate"]["ContainerSpec"]
    return spec


def _lower(document: dict[str, Any], key: str, value: Any) -> None:
    del document[key]
    document[key.lower()] = value


ROOT_FS = "/"
ATTACKS: list[tuple[Any, str]] = [
    (lambda b: _container(b).update(Privileges={"SELinuxContext": {"Disable": True}}), "Privileges"),
    (lambda b: _container(b).update(Secrets=[{"SecretID": "x", "SecretName": "x"}]), "Secrets"),
    (lambda b: _container(b).update(Configs=[{"ConfigID": "x", "ConfigName": "x"}]), "Configs"),
    (lambda b: _container(b).update(Sysctls={"net.ipv4.ip_forward": "1"}), "Sysctls"),
    (lambda b: _container(b).update(Hosts=["10.0.0.1 jhub-unit-hub"]), "Hosts"),
    (lambda b: _container(b).update(Init=True), "ContainerSpec.init"),
    (lambda b: _container(b).update(Isolation="hyperv"), "Isolation"),
    (lambda b: _container(b).update(Image="local/debian:bookworm"), "image 'local/debian:bookworm'"),
    (lambda b: _container(b)["Labels"].clear(), "ContainerSpec label org.jupyterhub-docker.stack"),
    (lambda b: b["Labels"].clear(), "service label org.jupyterhub-docker.stack=unit is missing"),
    (lambda b: b.pop("Labels"), "service label"),
    (lambda b: _container(b).update(CapabilityAdd=["SYS_ADMIN"]), "capabilities ['SYS_ADMIN']"),
    (lambda b: _container(b).update(CapabilityAdd=["CAP_NET_ADMIN"]), "capabilities ['NET_ADMIN']"),
    (lambda b: _container(b).update(CapabilityDrop=[]), "CapabilityDrop must be ALL"),
    (lambda b: _container(b).pop("CapabilityDrop"), "CapabilityDrop must be ALL"),
    (lambda b: _container(b).update(User="0"), "User '0'"),
    (lambda b: _container(b).update(User="1000"), "User '1000'"),
    (
        lambda b: _container(b)["Mounts"].append({"Type": "bind", "Source": ROOT_FS, "Target": "/host"}),
        "mount type 'bind'",
    ),
    (
        lambda b: _container(b)["Mounts"].append(
            {"Type": "bind", "Source": "/var/run/docker.sock", "Target": "/var/run/docker.sock"}
        ),
        "mount type 'bind'",
    ),
    (
        # A `local` volume with o=bind is a bind mount of the node by another name.
        lambda b: _container(b)["Mounts"][0].update(
            VolumeOptions={"DriverConfig": {"Name": "local", "Options": {"o": "bind", "device": "/"}}}
        ),
        "driver options are refused",
    ),
    (
        lambda b: _container(b)["Mounts"].append(
            {"Type": "volume", "Source": "jhub-unit-data", "Target": "/x"}
        ),
        "volume 'jhub-unit-data'",
    ),
    (
        lambda b: _container(b)["Mounts"][0]["VolumeOptions"].update(Labels={"other": "x"}),
        "are not the homes' labels",
    ),
    (
        lambda b: _container(b)["Mounts"].append({"Type": "tmpfs", "Target": "/etc"}),
        "tmpfs at '/etc'",
    ),
    (lambda b: _container(b)["Mounts"].append({"Type": "npipe", "Target": "/x"}), "mount type 'npipe'"),
    (
        lambda b: _container(b)["Mounts"][0].update(BindOptions={"Propagation": "rshared"}),
        "Mount.bindoptions",
    ),
    (lambda b: b["TaskTemplate"].update(Networks=[{"Target": "bridge"}]), "TaskTemplate.Networks"),
    (lambda b: b["TaskTemplate"].update(Networks=[{"Target": "ingress"}]), "TaskTemplate.Networks"),
    (lambda b: b["TaskTemplate"].update(Networks=[]), "TaskTemplate.Networks"),
    (
        lambda b: b["TaskTemplate"]["Networks"][0].update(Aliases=["jhub-unit-hub"]),
        "TaskTemplate.Networks",
    ),
    (
        lambda b: b["TaskTemplate"]["Networks"].append({"Target": "jhub-other-users"}),
        "TaskTemplate.Networks",
    ),
    (lambda b: b.update(Networks=[{"Target": "bridge"}]), "service.networks is refused"),
    (
        lambda b: b["TaskTemplate"]["Placement"].update(Constraints=["node.role==manager"]),
        "Placement.Constraints ['node.role==manager']",
    ),
    (
        lambda b: b["TaskTemplate"]["Placement"].update(Constraints=["node.id==a", "node.id==b"]),
        "more than one node",
    ),
    (
        lambda b: b["TaskTemplate"]["Placement"].update(Preferences=[{"Spread": {"SpreadDescriptor": "x"}}]),
        "Placement.preferences",
    ),
    (lambda b: b["TaskTemplate"].update(Runtime="plugin"), "TaskTemplate.runtime"),
    (lambda b: b["TaskTemplate"].update(PluginSpec={"Name": "x"}), "TaskTemplate.pluginspec"),
    (
        lambda b: b["TaskTemplate"].update(LogDriver={"Name": "syslog", "Options": {"x": "y"}}),
        "TaskTemplate.logdriver",
    ),
    (
        lambda b: b["TaskTemplate"]["Resources"]["Limits"].update(Pids=0, GenericResources=[{}]),
        "Resources.limits.genericresources",
    ),
    (
        lambda b: b["TaskTemplate"]["Resources"].update(Reservations={"GenericResources": [{"x": 1}]}),
        "Resources.reservations.genericresources is refused",
    ),
    # Values: the limits, the restart policy, the home and the name are the stack's.
    (lambda b: b["TaskTemplate"]["Resources"]["Limits"].update(MemoryBytes=0), "memory limit 0"),
    (lambda b: b["TaskTemplate"]["Resources"].pop("Limits"), "memory limit None"),
    (lambda b: b["TaskTemplate"]["Resources"]["Limits"].update(NanoCPUs=64 * 10**9), "CPU limit 64000000000"),
    (lambda b: b["TaskTemplate"].update(RestartPolicy={"Condition": "any"}), "only Condition none"),
    (lambda b: b["TaskTemplate"].pop("RestartPolicy"), "only Condition none"),
    (lambda b: _container(b)["Mounts"][0].update(Source="jhub-unit-home-bob"), "is not this server's home"),
    (lambda b: _container(b)["Mounts"][0].update(Target="/etc"), "only the home"),
    (lambda b: _container(b).update(ReadOnly=True), "ContainerSpec.ReadOnly must be False"),
    (lambda b: _container(b).update(Dir="/proc/self/fd/7"), "ContainerSpec.dir is refused"),
    (lambda b: b.update(Name="jhub-unit-user-docker-api"), "as DockerSpawner escapes them"),
    (lambda b: b.pop("TaskTemplate"), "TaskTemplate.ContainerSpec is missing"),
    (
        lambda b: b.update(EndpointSpec={"Ports": [{"TargetPort": 8888, "PublishedPort": 80}]}),
        "EndpointSpec.ports is refused",
    ),
    (lambda b: b.update(Mode={"Global": {}}), "Mode {'Global': {}}"),
    (lambda b: b.update(Mode={"Replicated": {}, "Global": {}}), "only replicated"),
    (lambda b: b.update(Mode={"Replicated": {"Replicas": 5}}), "at most one replica"),
    (lambda b: b.update(Mode={"ReplicatedJob": {}}), "Mode {'ReplicatedJob': {}}"),
    (lambda b: b.update(UpdateConfig={"Parallelism": 1}), "service.updateconfig"),
    (lambda b: b.update(Name="jhub-unit-hub"), "service name 'jhub-unit-hub'"),
    (lambda b: b.update(Name=None), "service name None"),
    # The engine's decoder matches field names case-insensitively; so does the policy.
    (lambda b: _container(b).update(privileges={"x": 1}), "ContainerSpec.privileges is refused"),
    (lambda b: _lower(_container(b), "Image", "local/debian:bookworm"), "image 'local/debian:bookworm'"),
    (lambda b: _container(b).update(image="x"), "ambiguous key 'image'"),
    (lambda b: _container(b).update({"Secret\u017f": [{}]}), "ambiguous key"),
]


@pytest.mark.parametrize(("change", "reason"), ATTACKS, ids=[reason for _, reason in ATTACKS])
def test_swarm_policy_refuses_a_service_that_is_not_a_hardened_user_server(change: Any, reason: str) -> None:
    body = copy.deepcopy(created_body(SWARM))
    change(body)
    decision = create(policy_for(SWARM), body)
    assert isinstance(decision, Refused), decision
    assert reason.lower() in decision.reason.lower(), decision.reason


def test_swarm_policy_placement_is_one_whole_profiles_and_root_only_where_configured() -> None:
    raw = {**SWARM, "profiles": PROFILES}
    policy = policy_for(raw)
    body = created_body(raw, profile="big")
    # Dropping one of a profile's constraints widens where the server runs: refused.
    body["TaskTemplate"]["Placement"]["Constraints"] = ["node.labels.size==big"]
    assert isinstance(create(policy, body), Refused)
    body["TaskTemplate"]["Placement"]["Constraints"] = []
    assert isinstance(create(policy, body), Forward), "the plain profile has no constraints"
    # A root profile on a stack that has one; not on a stack without.
    root = created_body(raw, profile="root")
    assert isinstance(create(policy, root), Forward)
    refused = create(policy_for(SWARM), root)
    assert isinstance(refused, Refused) and "User '0'" in refused.reason
    assert "capabilities" in refused.reason


def test_swarm_policy_forwards_registry_credentials_only_with_a_registry() -> None:
    body = created_body(SWARM)
    policy = policy_for(SWARM)
    assert policy["registry"] == "localhost:5000"
    decision = create(policy, body)
    assert isinstance(decision, Forward) and decision.registry_auth
    # What the engine gets is the document the policy checked.
    assert decision.body == body
    # Without a registry the manager gets no credentials.
    pulled = policy_for(PULLED)
    assert pulled["registry"] is None
    decision = create(pulled, created_body(PULLED))
    assert isinstance(decision, Forward) and not decision.registry_auth


def test_swarm_policy_names_the_service_each_call_acts_on() -> None:
    policy = policy_for(SWARM)
    for method in ("GET", "DELETE"):
        decision = ask(policy, method, "/v1.41/services/jhub-unit-user-ann")
        assert decision == Forward("/services/jhub-unit-user-ann", {}, service="jhub-unit-user-ann")
    query = {"filters": json.dumps({"service": ["jhub-unit-user-ann"], "desired-state": ["running"]})}
    assert ask(policy, "GET", "/v1.41/tasks", query) == Forward(
        "/tasks",
        {},
        service="jhub-unit-user-ann",
        task_filters={"service": ["jhub-unit-user-ann"], "desired-state": ["running"]},
    )
    settings, _ = documents(SWARM)
    labels = settings["spawner"]["labels"]
    assert is_user_service(policy, {"Spec": {"Labels": labels}})
    assert not is_user_service(policy, {"Spec": {"Labels": {}}})
    assert not is_user_service(policy, {"Spec": {"Labels": {**labels, "org.jupyterhub-docker.role": "hub"}}})
    assert not is_user_service(policy, {"Spec": {}})
    # A container's labels are not a service's.
    assert not is_user_service(policy, {"Config": {"Labels": labels}})


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/v1.41/tasks", {}),
        ("GET", "/v1.41/tasks", {"filters": "{}"}),
        ("GET", "/v1.41/tasks", {"filters": json.dumps({"service": []})}),
        ("GET", "/v1.41/tasks", {"filters": json.dumps({"service": ["a", "b"]})}),
        ("GET", "/v1.41/tasks", {"filters": json.dumps({"service": ["a"], "node": ["x"]})}),
        ("GET", "/v1.41/tasks", {"filters": json.dumps({"service": {"a": True}})}),
        ("GET", "/v1.41/tasks", {"filters": "not json"}),
        ("GET", "/v1.41/tasks", {"filters": json.dumps({"service": ["a"]}), "x": "1"}),
        ("GET", "/v1.41/services/jhub-unit-user-ann", {"insertDefaults": "1"}),
        ("GET", "/v1.41/services", {}),
        ("GET", "/v1.41/services/create", {}),
        ("POST", "/v1.41/services/jhub-unit-user-ann/update", {"version": "1"}),
        ("GET", "/v1.41/services/jhub-unit-user-ann/logs", {}),
        ("GET", "/v1.41/tasks/abc", {}),
        ("GET", "/v1.41/tasks/abc/logs", {}),
        ("GET", "/v1.41/swarm", {}),
        ("POST", "/v1.41/swarm/leave", {}),
        ("GET", "/v1.41/swarm/unlockkey", {}),
        ("GET", "/v1.41/nodes", {}),
        ("POST", "/v1.41/nodes/abc/update", {}),
        ("GET", "/v1.41/secrets", {}),
        ("POST", "/v1.41/secrets/create", {}),
        ("GET", "/v1.41/configs", {}),
        ("POST", "/v1.41/configs/create", {}),
        ("GET", "/v1.41/plugins", {}),
    ],
)
def test_swarm_policy_refuses_the_rest_of_swarm(method: str, path: str, query: dict[str, str]) -> None:
    assert isinstance(ask(policy_for(SWARM), method, path, query), Refused), (method, path)


def test_swarm_policy_refuses_every_service_route_when_the_orchestrator_is_docker() -> None:
    policy = policy_for({"auth": SHARED})
    assert policy["orchestrator"] == "docker"
    body = created_body(SWARM)
    query = {"filters": json.dumps({"service": ["jhub-unit-user-ann"]})}
    for method, path, query_, body_ in (
        ("POST", "/v1.41/services/create", {}, body),
        ("GET", "/v1.41/services/jhub-unit-user-ann", {}, NO_BODY),
        ("DELETE", "/v1.41/services/jhub-unit-user-ann", {}, NO_BODY),
        ("GET", "/v1.41/tasks", query, NO_BODY),
    ):
        assert isinstance(ask(policy, method, path, query_, body_), Refused), (method, path)
