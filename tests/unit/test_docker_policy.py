"""The Docker API proxy's policy (hub/docker_policy.py), on the request bodies docker-py builds
from the hub's real configuration, and on what an attacker in the hub would send instead.
The e2e test (tests/e2e/test_api_proxy.py) proves the same against the real engine."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import docker
import pytest
from docker.types import Mount

from hub import apply, profiles
from hub.docker_policy import (
    INFO_FIELDS,
    Forward,
    PolicyDocument,
    Refused,
    api_path,
    decide,
    is_user_server,
    policy_document,
)
from tests.unit.test_hub_config import SHARED, User, configured, documents

CLIENT = docker.APIClient(version="1.41")
IMAGE = "jhub-unit-notebook-default:0123"
NAME = "jhub-unit-user-ann"
PROFILES = [
    {"name": "plain", "default": True},
    {"name": "root", "startsAsRoot": True},
    {"name": "gpu", "gpus": ["0", "1"]},
]
SHARED_FOLDERS = [
    {"name": "course", "target": "/srv/course", "source": {"volume": {}}},
    {"name": "data", "target": "/srv/data", "source": {"hostPath": "/srv/datasets"}},
]


def lower_key(document: dict[str, Any], key: str, value: Any) -> None:
    """Send `key` lower-cased, as the engine would still read it."""
    del document[key]
    document[key.lower()] = value


def policy_for(raw: dict[str, Any]) -> PolicyDocument:
    settings, _ = documents(raw)
    return policy_document(settings)


def spawner_body(raw: dict[str, Any], *, profile_host_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The create request as DockerSpawner assembles it from the configured traits
    (dockerspawner.py `create_object`), serialised by docker-py as it goes over the wire."""
    settings, _ = documents(raw)
    c = configured(raw)
    spawner = c.DockerSpawner
    mounts = [
        Mount(
            target=settings["spawner"]["homeDir"],
            source=f"{settings['spawner']['volumePrefix']}-ann",
            type="volume",
            labels=settings["spawner"]["volumeLabels"],
        )
    ]
    for folder in settings.get("shared", []):
        mount = apply.shared_mount(folder, admin=False, groups=set())
        mounts.append(
            Mount(mount["target"], mount["source"], type=mount["type"], read_only=mount["read_only"])
        )
    host_config = {
        "auto_remove": True,
        "binds": {},
        "links": {},
        "mounts": mounts,
        "mem_limit": spawner.mem_limit,
        "cpu_period": 100_000,
        "cpu_quota": int(spawner.cpu_limit * 100_000),
        **(profile_host_config or spawner.extra_host_config),
        "network_mode": spawner.network_name,
    }
    body: dict[str, Any] = CLIENT.create_container_config(
        spawner.image,
        ["jupyterhub-singleuser"],
        ports={"8888/tcp": None},
        environment={"JUPYTERHUB_API_TOKEN": "t"},
        host_config=CLIENT.create_host_config(**host_config),
        **spawner.extra_create_kwargs,
    )
    return body


def create(policy: PolicyDocument, body: dict[str, Any], name: str = NAME) -> Forward | Refused:
    return decide(policy, "POST", "/v1.41/containers/create", {"name": name}, body)


def refused_because(policy: PolicyDocument, body: dict[str, Any], reason: str, name: str = NAME) -> None:
    decision = create(policy, body, name)
    assert isinstance(decision, Refused), decision
    assert reason.lower() in decision.reason.lower(), decision.reason


def test_api_proxy_passes_what_dockerspawner_sends_for_the_default_config() -> None:
    raw = {"auth": SHARED}
    assert create(policy_for(raw), spawner_body(raw)) == Forward()


def test_api_proxy_passes_hardened_root_gpu_profiles_and_shared_folders() -> None:
    raw = {
        "auth": SHARED,
        "spawner": {"readOnlyRootFilesystem": True},
        "profiles": PROFILES,
        "shared": SHARED_FOLDERS,
    }
    policy = policy_for(raw)
    assert policy["capabilities"] and len(policy["deviceRequests"]) == 1
    assert policy["sharedVolumes"] == ["jhub-unit-shared-course"]
    assert policy["sharedBinds"] == ["/srv/datasets"]
    assert create(policy, spawner_body(raw)) == Forward()
    settings, _ = documents(raw)
    apply_profile = profiles.apply_profiles(settings["profiles"], settings["spawner"])
    for profile in ("root", "gpu"):
        spawner = SimpleNamespace(
            user=User(admin=False, groups=[]), environment={}, extra_host_config={}, extra_create_kwargs={}
        )
        apply_profile(spawner, {"profile": profile})
        body = spawner_body(raw, profile_host_config=spawner.extra_host_config)
        assert create(policy, body) == Forward(), profile
    # A GPU request other than a profile's, and root capabilities on a stack without them.
    other_gpus = spawner_body(raw, profile_host_config=spawner.extra_host_config)
    other_gpus["HostConfig"]["DeviceRequests"][0]["DeviceIDs"] = ["0", "1", "2"]
    refused_because(policy, other_gpus, "DeviceRequests")
    plain = {"auth": SHARED}
    refused_because(
        policy_for(plain),
        spawner_body(raw, profile_host_config={**spawner.extra_host_config, "cap_add": ["CHOWN"]}),
        "capabilities ['CHOWN']",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b["HostConfig"].update(Privileged=True), "HostConfig.Privileged is refused"),
        (lambda b: b["HostConfig"].update(Binds=["/:/host"]), "bind '/:/host'"),
        (lambda b: b["HostConfig"].update(Binds=["/var/run/docker.sock:/var/run/docker.sock"]), "bind"),
        (
            lambda b: b["HostConfig"]["Mounts"].append({"Type": "bind", "Source": "/", "Target": "/host"}),
            "bind mount of '/'",
        ),
        (
            # A `local` volume with o=bind is a bind mount of the host by another name.
            lambda b: b["HostConfig"]["Mounts"].append(
                {
                    "Type": "volume",
                    "Source": "jhub-unit-home-x",
                    "Target": "/x",
                    "VolumeOptions": {
                        "DriverConfig": {"Name": "local", "Options": {"o": "bind", "device": "/"}}
                    },
                }
            ),
            "driver options are refused",
        ),
        (
            lambda b: b["HostConfig"]["Mounts"].append(
                {"Type": "volume", "Source": "jhub-unit-data", "Target": "/x"}
            ),
            "volume 'jhub-unit-data'",
        ),
        (
            lambda b: b["HostConfig"]["Mounts"].append(
                {"Type": "volume", "Source": "jhub-other-home-x", "Target": "/x"}
            ),
            "volume 'jhub-other-home-x'",
        ),
        (lambda b: b["HostConfig"].update(NetworkMode="host"), "NetworkMode 'host'"),
        (lambda b: b["HostConfig"].update(PidMode="host"), "PidMode 'host'"),
        (lambda b: b["HostConfig"].update(IpcMode="container:jhub-unit-hub"), "IpcMode"),
        (lambda b: b["HostConfig"].update(UsernsMode="host"), "UsernsMode"),
        (lambda b: b["HostConfig"].update(CapAdd=["SYS_ADMIN"]), "capabilities ['SYS_ADMIN']"),
        (lambda b: b["HostConfig"].update(CapDrop=[]), "CapDrop must be ALL"),
        (lambda b: b["HostConfig"].update(SecurityOpt=[]), "SecurityOpt"),
        (
            lambda b: b["HostConfig"].update(SecurityOpt=["no-new-privileges:true", "seccomp=unconfined"]),
            "SecurityOpt",
        ),
        (
            lambda b: b["HostConfig"].update(
                Devices=[{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda"}]
            ),
            "HostConfig.Devices",
        ),
        (
            lambda b: b["HostConfig"].update(
                DeviceRequests=[{"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}]
            ),
            "DeviceRequests",
        ),
        (lambda b: b["HostConfig"].update(PortBindings={"8888/tcp": [{"HostPort": "80"}]}), "PortBindings"),
        (lambda b: b["HostConfig"].update(VolumesFrom=["jhub-unit-hub"]), "VolumesFrom"),
        (lambda b: b["HostConfig"].update(Sysctls={"net.ipv4.ip_forward": "1"}), "Sysctls"),
        (lambda b: b["HostConfig"].update(CgroupParent="/"), "CgroupParent"),
        # Present even empty: an empty list unmasks /proc.
        (lambda b: b["HostConfig"].update(MaskedPaths=[]), "HostConfig.maskedpaths is refused"),
        # The engine's decoder matches field names case-insensitively; so does the policy.
        (lambda b: b["HostConfig"].update(privileged=True), "HostConfig.privileged is refused"),
        (lambda b: lower_key(b["HostConfig"], "Binds", ["/:/host"]), "bind '/:/host'"),
        (lambda b: b.update(image="local/debian:bookworm"), "ambiguous key 'image'"),
        (lambda b: b["HostConfig"].update({"Bind\u017f": ["/:/host"]}), "ambiguous key"),
        (lambda b: b["HostConfig"].update(Runtime="runsc"), "Runtime"),
        (lambda b: b["HostConfig"].update(SomethingNew=True), "HostConfig.SomethingNew"),
        (lambda b: b.update(Image="local/debian:bookworm"), "image 'local/debian:bookworm'"),
        (lambda b: b["Labels"].clear(), "label org.jupyterhub-docker.stack=unit is missing"),
        (lambda b: b["Labels"].update({"org.jupyterhub-docker.stack": "other"}), "stack=unit"),
        (lambda b: b.update(NetworkingConfig={"EndpointsConfig": {"bridge": {}}}), "NetworkingConfig"),
        (
            lambda b: b.update(
                NetworkingConfig={"EndpointsConfig": {"jhub-unit-net": {"Aliases": ["jhub-unit-hub"]}}}
            ),
            "NetworkingConfig",
        ),
        (
            lambda b: b["HostConfig"].update(
                LogConfig={"Type": "syslog", "Config": {"syslog-address": "tcp://x:1"}}
            ),
            "HostConfig.logconfig",
        ),
        (lambda b: b["HostConfig"].update(OomScoreAdj=-1000), "HostConfig.oomscoreadj"),
        (lambda b: b.pop("HostConfig"), "HostConfig is missing"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_api_proxy_refuses_a_create_that_is_not_a_hardened_user_server(change: Any, reason: str) -> None:
    raw = {"auth": SHARED}
    body = copy.deepcopy(spawner_body(raw))
    change(body)
    refused_because(policy_for(raw), body, reason)


def test_api_proxy_refuses_a_container_name_outside_the_stacks_user_prefix() -> None:
    raw = {"auth": SHARED}
    refused_because(
        policy_for(raw), spawner_body(raw), "does not start with jhub-unit-user-", name="jhub-unit-hub"
    )
    refused_because(policy_for(raw), spawner_body(raw), "does not start with", name="")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1.41/containers/jhub-unit-user-ann/exec"),
        ("POST", "/v1.41/exec/abc/start"),
        ("POST", "/v1.41/build"),
        ("POST", "/build"),
        ("POST", "/v1.41/volumes/create"),
        ("DELETE", "/v1.41/volumes/jhub-unit-data"),
        ("GET", "/v1.41/volumes"),
        ("POST", "/v1.41/networks/create"),
        ("POST", "/v1.41/networks/jhub-unit-net/connect"),
        ("POST", "/v1.41/swarm/init"),
        ("GET", "/v1.41/plugins"),
        ("POST", "/v1.41/plugins/pull"),
        ("POST", "/v1.41/containers/prune"),
        ("POST", "/v1.41/images/prune"),
        ("DELETE", "/v1.41/images/jhub-unit-notebook-default:0123"),
        ("POST", "/v1.41/images/jhub-unit-notebook-default:0123/push"),
        ("POST", "/v1.41/commit"),
        ("GET", "/v1.41/events"),
        ("GET", "/v1.41/system/df"),
        ("GET", "/v1.41/containers/json"),
        ("PUT", "/v1.41/containers/jhub-unit-user-ann/archive"),
        ("GET", "/v1.41/containers/jhub-unit-user-ann/archive"),
        ("POST", "/v1.41/containers/jhub-unit-user-ann/attach"),
        ("POST", "/v1.41/containers/jhub-unit-user-ann/update"),
        ("POST", "/v1.41/containers/jhub-unit-user-ann/rename"),
        ("GET", "/v1.41/containers/jhub-unit-user-ann/logs"),
        ("POST", "/v1.41/secrets/create"),
        ("GET", "/v1.41/services"),
        ("POST", "/v1.41/session"),
        ("GET", "/v1.41/../../containers/json"),
    ],
)
def test_api_proxy_refuses_every_route_dockerspawner_does_not_use(method: str, path: str) -> None:
    decision = decide(policy_for({"auth": SHARED}), method, path, {}, None)
    assert isinstance(decision, Refused), (method, path)


def test_api_proxy_routes_dockerspawner_uses_pass_or_name_their_container() -> None:
    policy = policy_for(
        {"auth": SHARED, "registry": {"enabled": True, "username": "teacher", "password": "pw"}}
    )
    assert decide(policy, "GET", "/version", {}, None) == Forward()
    assert decide(policy, "HEAD", "/_ping", {}, None) == Forward()
    assert decide(policy, "GET", "/v1.41/info", {}, None) == Forward(trim_info=True)
    assert set(INFO_FIELDS) >= {"NCPU", "MemTotal"}
    for method, action in (("GET", "json"), ("POST", "start"), ("POST", "stop"), ("POST", "kill")):
        decision = decide(policy, method, f"/v1.41/containers/jhub-unit-user-ann/{action}", {}, None)
        assert decision == Forward(target="jhub-unit-user-ann")
    assert decide(policy, "DELETE", "/v1.41/containers/0123abc", {"v": "1"}, None) == Forward(
        target="0123abc"
    )
    assert decide(policy, "GET", f"/v1.41/images/{IMAGE}/json", {}, None) == Forward()
    assert isinstance(decide(policy, "GET", "/v1.41/images/local/debian:bookworm/json", {}, None), Refused)
    repository, tag = IMAGE.split(":")
    assert (
        decide(policy, "POST", "/v1.41/images/create", {"fromImage": repository, "tag": tag}, None)
        == Forward()
    )
    pull_other = decide(policy, "POST", "/v1.41/images/create", {"fromImage": "alpine", "tag": "3"}, None)
    assert isinstance(pull_other, Refused)
    assert decide(policy, "POST", "/auth", {}, {"serveraddress": "localhost:5000"}) == Forward()
    assert isinstance(decide(policy, "POST", "/auth", {}, {"serveraddress": "evil.example"}), Refused)
    assert isinstance(
        decide(policy_for({"auth": SHARED}), "POST", "/auth", {}, {"serveraddress": "x"}), Refused
    )
    assert api_path("/v1.41/containers/create") == "/containers/create"


def test_api_proxy_acts_only_on_containers_the_engine_says_are_the_stacks_user_servers() -> None:
    policy = policy_for({"auth": SHARED})
    settings, _ = documents({"auth": SHARED})
    ours = {"Config": {"Labels": settings["spawner"]["labels"]}}
    hub = {"Config": {"Labels": {**settings["spawner"]["labels"], "org.jupyterhub-docker.role": "hub"}}}
    other_stack = {
        "Config": {"Labels": {**settings["spawner"]["labels"], "org.jupyterhub-docker.stack": "x"}}
    }
    assert is_user_server(policy, ours)
    assert not is_user_server(policy, hub)
    assert not is_user_server(policy, other_stack)
    assert not is_user_server(policy, {"Config": {"Labels": None}})
