"""The Docker API proxy's policy (hub/api_proxy/docker_policy.py, hub/api_proxy/container_policy.py),
read through the proxy's own request reader (hub/api_proxy/api_request.py), on the requests the
hub's real spawner sends (tests/unit/spawner_requests.py), and on what an attacker in the hub
would send instead.
The e2e tests (tests/e2e/test_api_proxy.py, test_api_proxy_bypass.py) prove the same through
the real proxy in front of the real engine."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from hub.api_proxy.api_request import canonical_body
from hub.api_proxy.docker_policy import (
    INFO_FIELDS,
    NO_BODY,
    Forward,
    PolicyDocument,
    Refused,
    is_stack_home,
    is_user_server,
    policy_document,
    read_request,
)
from hub.docker_api_proxy import capped_version
from tests.unit.spawner_requests import ask, ask_raw, created, forwarded, start
from tests.unit.test_hub_config import SHARED, documents

IMAGE = "jhub-unit-notebook-default:0123"
NAME = "jhub-unit-user-ann"
PROFILES = [
    {"name": "plain", "default": True},
    {"name": "root", "startsAsRoot": True},
    {"name": "gpu", "gpus": ["0", "1"]},
    {"name": "big", "memLimit": "4G", "cpuLimit": 2.0},
]
SHARED_FOLDERS = [
    {"name": "course", "target": "/srv/course", "source": {"volume": {}}, "readOnly": True},
    {
        "name": "data",
        "target": "/srv/data",
        "source": {"hostPath": "/srv/datasets"},
        "writers": {"admins": True},
    },
]
PLAIN = {"auth": SHARED}
FULL = {
    "auth": SHARED,
    "spawner": {"readOnlyRootFilesystem": True},
    "profiles": PROFILES,
    "shared": SHARED_FOLDERS,
}
CREATE = f"/v1.41/containers/create?name={NAME}"


def policy_for(raw: dict[str, Any]) -> PolicyDocument:
    settings, _ = documents(raw)
    return policy_document(settings)


def body_of(raw: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    body: dict[str, Any] = created(raw, **kwargs).body
    return body


def create(policy: PolicyDocument, body: Any, target: str = CREATE) -> Forward | Refused:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ask_raw(policy, "POST", target, raw)


def refused_because(policy: PolicyDocument, body: Any, reason: str, target: str = CREATE) -> None:
    decision = create(policy, body, target)
    assert isinstance(decision, Refused), decision
    assert reason.lower() in decision.reason.lower(), decision.reason


def test_api_proxy_passes_every_request_of_the_real_spawner_and_forwards_what_it_checked() -> None:
    policy = policy_for(PLAIN)
    seen, _ = start(PLAIN)
    decisions = [forwarded(policy, request) for request in seen]
    routes = [(r.method, r.path) for r in seen]
    assert ("POST", "/v1.41/containers/create") in routes
    (create_request,) = [r for r in seen if r.path.endswith("/create")]
    (decision,) = [d for d in decisions if d.route == "/containers/create"]
    # The document the engine gets is the one the policy read, re-serialised; the name is the
    # query argument the policy read; the home is checked against the engine's volumes.
    assert decision.body == create_request.body
    assert json.loads(canonical_body(decision.body)) == create_request.body
    assert decision.query == {"name": NAME}
    assert decision.volumes == ("jhub-unit-home-ann",)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"profile": "root"}, {"profile": "gpu"}, {"profile": "big"}, {"profile": "plain", "admin": True}],
    ids=["default", "root", "gpu", "big", "admin"],
)
def test_api_proxy_passes_profiles_read_only_roots_and_shared_folders(kwargs: dict[str, Any]) -> None:
    policy = policy_for(FULL)
    assert len(policy["servers"]) == 4
    assert policy["shared"] == [
        {"type": "volume", "source": "jhub-unit-shared-course", "target": "/srv/course", "readOnly": True},
        {"type": "bind", "source": "/srv/datasets", "target": "/srv/data", "readOnly": False},
    ]
    for request in start(FULL, **kwargs)[0]:
        forwarded(policy, request)


def test_api_proxy_passes_named_servers_with_and_without_a_shared_home() -> None:
    for shared_home in (False, True):
        raw = {"auth": SHARED, "namedServers": {"limit": 2, "sharedHome": shared_home}}
        request = created(raw, server="lab")
        assert request.query == {"name": "jhub-unit-user-ann--lab"}
        forwarded(policy_for(raw), request)


def _host(body: dict[str, Any]) -> dict[str, Any]:
    host: dict[str, Any] = body["HostConfig"]
    return host


def _mounts(body: dict[str, Any]) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = body["HostConfig"]["Mounts"]
    return mounts


def _lower(document: dict[str, Any], key: str, value: Any) -> None:
    """Send `key` lower-cased, as the engine would still read it."""
    del document[key]
    document[key.lower()] = value


Change = Callable[[dict[str, Any]], Any]
ATTACKS: list[tuple[Change, str]] = [
    # Fields that make a container the host's.
    (lambda b: _host(b).update(Privileged=True), "HostConfig.privileged is refused"),
    (lambda b: _host(b).update(Binds=["/:/host"]), "HostConfig.binds"),
    (lambda b: _host(b).update(Binds=["/var/run/docker.sock:/var/run/docker.sock"]), "HostConfig.binds"),
    (lambda b: _mounts(b).append({"Type": "bind", "Source": "/", "Target": "/host"}), "mount at '/host'"),
    (
        # A `local` volume with o=bind is a bind mount of the host by another name.
        lambda b: _mounts(b)[0]["VolumeOptions"].update(
            DriverConfig={"Name": "local", "Options": {"o": "bind", "device": "/"}}
        ),
        "home volume options ['driverconfig']",
    ),
    (lambda b: _mounts(b)[0]["VolumeOptions"].update(DriverConfig={}), "home volume options"),
    (lambda b: _mounts(b)[0].update(BindOptions={"Propagation": "rshared"}), "['bindoptions'] refused"),
    (lambda b: _mounts(b)[0].update(Source="jhub-unit-data"), "home volume 'jhub-unit-data'"),
    (lambda b: _mounts(b)[0].update(Source="jhub-other-home-x"), "does not start with jhub-unit-home-"),
    (lambda b: _mounts(b)[0].update(Source="jhub-unit-home-bob"), "is not this server's home"),
    (lambda b: _mounts(b)[0]["VolumeOptions"].update(Labels={}), "are not the homes' labels"),
    (lambda b: _mounts(b)[0].update(Type="bind", Source="/"), "the home is a volume"),
    (lambda b: _mounts(b)[0].update(Target="/etc"), "mount at '/etc'"),
    (lambda b: _mounts(b).append(dict(_mounts(b)[0])), "mounts at"),
    (lambda b: _mounts(b).append({"Type": "tmpfs", "Target": "/dev/shm"}), "mount at '/dev/shm'"),
    (lambda b: _mounts(b).clear(), "mounts at []"),
    (lambda b: _host(b).pop("Mounts"), "HostConfig.Mounts must list"),
    (lambda b: _host(b).update(NetworkMode="host"), "HostConfig.networkmode 'host'"),
    (lambda b: _host(b).update(PidMode="host"), "HostConfig.pidmode 'host'"),
    (lambda b: _host(b).update(IpcMode="container:jhub-unit-hub"), "ipcmode"),
    (lambda b: _host(b).update(UsernsMode="host"), "usernsmode"),
    (lambda b: _host(b).update(CapAdd=["SYS_ADMIN"]), "capabilities ['SYS_ADMIN']"),
    (lambda b: _host(b).update(CapDrop=[]), "CapDrop must be ALL"),
    (lambda b: _host(b).update(SecurityOpt=[]), "securityopt"),
    (lambda b: _host(b).update(SecurityOpt=["no-new-privileges:true", "seccomp=unconfined"]), "securityopt"),
    (
        lambda b: _host(b).update(Devices=[{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda"}]),
        "devices",
    ),
    (
        lambda b: _host(b).update(DeviceRequests=[{"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}]),
        "GPUs",
    ),
    (lambda b: _host(b).update(PortBindings={"8888/tcp": [{"HostPort": "80"}]}), "portbindings"),
    (lambda b: _host(b).update(VolumesFrom=["jhub-unit-hub"]), "volumesfrom"),
    (lambda b: _host(b).update(Sysctls={"net.ipv4.ip_forward": "1"}), "sysctls"),
    (lambda b: _host(b).update(CgroupParent="/"), "cgroupparent"),
    # Present even empty: an empty list unmasks /proc.
    (lambda b: _host(b).update(MaskedPaths=[]), "HostConfig.maskedpaths is refused"),
    (lambda b: _host(b).update(ReadonlyPaths=[]), "HostConfig.readonlypaths is refused"),
    (lambda b: _host(b).update(Runtime="runsc"), "runtime"),
    (lambda b: _host(b).update(SomethingNew=False), "HostConfig.somethingnew is refused"),
    (
        lambda b: _host(b).update(LogConfig={"Type": "syslog", "Config": {"syslog-address": "tcp://x:1"}}),
        "logconfig",
    ),
    (lambda b: _host(b).update(OomScoreAdj=-1000), "oomscoreadj"),
    # Values: the limits are the stack's, and nothing is left unlimited.
    (lambda b: _host(b).update(Memory=0), "memory limit 0"),
    (lambda b: _host(b).pop("Memory"), "memory limit None"),
    (lambda b: _host(b).update(Memory=64 * 2**30), "memory limit 68719476736"),
    (lambda b: _host(b).update(Memory=float(2**31)), "memory limit 2147483648.0"),
    (lambda b: _host(b).update(MemorySwap=-1), "memoryswap -1"),
    (lambda b: _host(b).update(MemorySwap=2**40), "memoryswap"),
    (lambda b: _host(b).update(CpuQuota=-1), "CPU limit -1"),
    (lambda b: _host(b).update(CpuPeriod=1000), "cpuperiod 1000"),
    (lambda b: _host(b).update(NanoCpus=8_000_000_000), "nanocpus is refused"),
    (lambda b: _host(b).update(CpuShares=262144), "cpushares is refused"),
    (lambda b: _host(b).update(PidsLimit=-1), "pidslimit -1"),
    (lambda b: _host(b).update(PidsLimit=0), "pidslimit 0"),
    (lambda b: _host(b).pop("PidsLimit"), "pidslimit None"),
    (lambda b: _host(b).update(PidsLimit=True), "pidslimit True"),
    (lambda b: _host(b).update(ShmSize=2**40), "shmsize is refused"),
    (lambda b: _host(b).update(Tmpfs={"/tmp": "rw,exec,size=100g"}), "tmpfs"),
    (lambda b: _host(b).update(RestartPolicy={"Name": "always"}), "restartpolicy"),
    (lambda b: _host(b).update(Init=True), "HostConfig.init is refused"),
    (lambda b: b.update(WorkingDir="/proc/self/fd/7"), "workingdir '/proc/self/fd/7' is refused"),
    (lambda b: b.update(Volumes={"/var/lib/anon": {}}), "volumes"),
    (lambda b: b.update(Entrypoint=["/bin/sh"]), "entrypoint"),
    (lambda b: b.update(Healthcheck={"Test": ["CMD", "true"], "Interval": 1000}), "healthcheck"),
    (lambda b: b.update(User="0"), "User '0' is refused"),
    (lambda b: b.update(User="root"), "User 'root' is refused"),
    # Top-level fields the engine merges into the host config (runconfig `getHostConfig`).
    (lambda b: b.update(CpusetCpus="0"), "cpusetcpus is refused"),
    (lambda b: b.update(Cpuset="0"), "cpuset is refused"),
    (lambda b: b.update(Memory=2**40), "memory is refused"),
    (lambda b: b.update(Privileged=True), "privileged is refused"),
    (lambda b: b.update(VolumeDriver="local"), "volumedriver is refused"),
    (lambda b: b.pop("HostConfig"), "HostConfig is missing"),
    # The engine's decoder matches field names case-insensitively; so does the policy.
    (lambda b: _host(b).update(privileged=True), "HostConfig.privileged is refused"),
    (lambda b: _lower(_host(b), "Memory", 2**40), "memory limit 1099511627776"),
    (lambda b: b.update(Image="local/debian:bookworm"), "image 'local/debian:bookworm'"),
    (lambda b: b["Labels"].clear(), "label org.jupyterhub-docker.stack=unit is missing"),
    (lambda b: b["Labels"].update({"org.jupyterhub-docker.stack": "other"}), "stack=unit"),
    (lambda b: b.update(NetworkingConfig={"EndpointsConfig": {"bridge": {}}}), "NetworkingConfig"),
    (
        lambda b: b.update(
            NetworkingConfig={"EndpointsConfig": {"jhub-unit-users": {"Aliases": ["jhub-unit-hub"]}}}
        ),
        "NetworkingConfig",
    ),
]


@pytest.mark.parametrize(("change", "reason"), ATTACKS, ids=[reason for _, reason in ATTACKS])
def test_api_proxy_bypass_a_create_that_is_not_a_hardened_user_server_is_refused(
    change: Change, reason: str
) -> None:
    body = copy.deepcopy(body_of(PLAIN))
    change(body)
    refused_because(policy_for(PLAIN), body, reason)


def test_api_proxy_bypass_values_are_one_profile_whole_and_read_only_folders_stay_read_only() -> None:
    policy = policy_for(FULL)
    root = body_of(FULL, profile="root")
    big = body_of(FULL, profile="big")
    plain = body_of(FULL)
    assert root["User"] == "0" and "User" not in plain
    # A root profile's user with the plain profile's capabilities, the big profile's memory with
    # the plain profile's CPU: each value is allowed, the combination is no profile's.
    mixed = copy.deepcopy(plain)
    mixed["User"] = "0"
    refused_because(policy, mixed, "together are not one profile's")
    mixed = copy.deepcopy(plain)
    mixed["HostConfig"]["Memory"] = big["HostConfig"]["Memory"]
    refused_because(policy, mixed, "together are not one profile's")
    # The course folder is read-only for everyone: it cannot be mounted writable, even as root.
    writable = copy.deepcopy(root)
    course = next(m for m in writable["HostConfig"]["Mounts"] if m["Target"] == "/srv/course")
    assert course["ReadOnly"] is True
    course["ReadOnly"] = False
    refused_because(policy, writable, "read-only for everyone, so ReadOnly must be true")
    # The data folder has writers (admins): the proxy cannot tell who is an admin, both pass.
    data = next(m for m in plain["HostConfig"]["Mounts"] if m["Target"] == "/srv/data")
    assert data["ReadOnly"] is True
    data["ReadOnly"] = False
    assert isinstance(create(policy, plain), Forward)
    # The read-only root and its /tmp are the stack's.
    for key, value in (("ReadonlyRootfs", False), ("Tmpfs", {})):
        changed = copy.deepcopy(root)
        changed["HostConfig"][key] = value
        refused_because(policy, changed, f"HostConfig.{key.lower()}")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("jhub-unit-hub", "does not start with jhub-unit-user-"),
        ("", "does not start with"),
        # `docker-api` is no escaped username ('-ap' is no escape): stack `unit` cannot take the
        # API proxy's name of a stack `unit-user`.
        ("jhub-unit-user-docker-api", "as DockerSpawner escapes them"),
        ("jhub-unit-user-ann--lab--x", "as DockerSpawner escapes them"),
        ("jhub-unit-user-Ann", "as DockerSpawner escapes them"),
        ("jhub-unit-user-", "as DockerSpawner escapes them"),
    ],
)
def test_api_proxy_bypass_a_container_name_that_no_user_server_has_is_refused(name: str, reason: str) -> None:
    refused_because(policy_for(PLAIN), body_of(PLAIN), reason, target=f"/v1.41/containers/create?name={name}")


def test_api_proxy_bypass_a_create_without_a_name_or_with_more_arguments_is_refused() -> None:
    body = body_of(PLAIN)
    refused_because(policy_for(PLAIN), body, "does not start with", target="/v1.41/containers/create")
    refused_because(policy_for(PLAIN), body, "argument 'platform'", target=f"{CREATE}&platform=linux")


def _duplicate(first: str, body: dict[str, Any]) -> bytes:
    """`body` with `first` (a JSON member) written before its members: the same key twice."""
    return ("{" + first + "," + json.dumps(body)[1:]).encode()


REQUEST_TRICKS: list[tuple[str, str, bytes, str]] = [
    # Two identical keys: Python's json keeps the last, the engine merges both (moby reads the
    # body with Go's encoding/json).
    ("POST", CREATE, b"DUPLICATE_HOSTCONFIG", "repeats"),
    ("POST", CREATE, b"DUPLICATE_NESTED", "repeats"),
    ("POST", CREATE, b'{"Image": "x", "image": "y"}', "differs only in case"),
    ("POST", CREATE, '{"Imag\u0065": "x", "HostConfig": {"Bind\u017f": []}}'.encode(), "not ASCII"),
    ("POST", CREATE, b'{"HostConfig": {"Memory": NaN}}', "NaN is not JSON"),
    ("POST", CREATE, b'{"HostConfig": {"Memory": Infinity}}', "Infinity is not JSON"),
    ("POST", CREATE, b"\xff\xfe{}", "not UTF-8"),
    ("POST", CREATE, b"[" * 100_000, "nests too deep"),
    ("POST", CREATE, b'{"a": 1} {"b": 2}', "not JSON"),
    # A '#': tornado reads the query on, an HTTP client stops there.
    (
        "POST",
        f"/v1.41/images/create?fromSrc=http://10.0.0.1/x.tar&repo={IMAGE}&x=#&fromImage={IMAGE}",
        b"",
        "character",
    ),
    ("POST", f"{CREATE}&x=#", b"BODY", "character"),
    ("POST", "/v1.41/containers/create?x=1;name=jhub-unit-user-ann", b"BODY", "character"),
    ("POST", f"{CREATE}&name=jhub-unit-user-bob", b"BODY", "repeated"),
    ("POST", "/v1.41/containers/create?name=jhub%2Dunit-user-ann%zz", b"BODY", "percent-encoding"),
    ("GET", "/v1.41/containers/jhub-unit-user-ann%2F..%2F..%2Finfo/json", b"", "refused"),
    ("GET", "/v1.41/containers/%2e%2e/json", b"", "'..'"),
    ("GET", "/v1.41//containers/jhub-unit-user-ann/json", b"", "empty path segment"),
    ("GET", "/v1.41/containers/jhub-unit-user-ann/json?", b"", ""),
    ("GET", "/v1.41/containers/jhub-unit-user-\u00e4nn/json", b"", "character"),
    ("GET", "/v1.41/containers/jhub%00/json", b"", "control character"),
    ("GET", "/v1.41/info\\..\\x", b"", "character"),
    ("GET", "http://engine/v1.41/info", b"", "not an absolute path"),
    # API versions: the one the policy is written for, and none only to negotiate.
    ("POST", "/v1.23/containers/jhub-unit-user-ann/start", b"", "speaks 1.41 only"),
    ("POST", "/v1.40/containers/jhub-unit-user-ann/start", b"", "speaks 1.41 only"),
    ("POST", "/v1.45/containers/create?name=jhub-unit-user-ann", b"BODY", "speaks 1.41 only"),
    ("POST", "/containers/create?name=jhub-unit-user-ann", b"BODY", "without the API version"),
    ("GET", "/info", b"", "without the API version"),
    # Image creation: a pull of the stack's images, nothing else.
    ("POST", f"/v1.41/images/create?fromSrc=http://10.0.0.1/x.tar&repo={IMAGE}", b"", "argument 'fromSrc'"),
    ("POST", f"/v1.41/images/create?fromImage={IMAGE}&repo=x", b"", "argument 'repo'"),
    ("POST", f"/v1.41/images/create?fromImage={IMAGE}&changes=CMD+sh", b"", "argument 'changes'"),
    ("POST", "/v1.41/images/create?fromImage=alpine&tag=3", b"", "only the stack's notebook images"),
    # Logging in: only to the stack's registry, with credentials only, keys read once.
    (
        "POST",
        "/v1.41/auth",
        b'{"serveraddress": "localhost:5000", "\\u017ferveraddress": "10.0.0.1"}',
        "not ASCII",
    ),
    (
        "POST",
        "/v1.41/auth",
        b'{"serveraddress": "localhost:5000", "ServerAddress": "10.0.0.1"}',
        "differs only",
    ),
    ("POST", "/v1.41/auth", b'{"serveraddress": "localhost:5000", "identitytoken": "x"}', "only ['email'"),
    ("POST", "/v1.41/auth?x=1", b'{"serveraddress": "localhost:5000"}', "takes no query"),
    ("POST", "/v1.41/auth", b'{"serveraddress": "10.0.0.1:5000"}', "only to the stack's registry"),
    # Arguments a route does not take, or values it does not take.
    ("POST", "/v1.41/containers/jhub-unit-user-ann/start?detachKeys=x", b"", "no argument 'detachKeys'"),
    ("POST", "/v1.41/containers/jhub-unit-user-ann/stop?t=x", b"", "t='x' is refused"),
    ("DELETE", "/v1.41/containers/jhub-unit-user-ann?link=true", b"", "link='true' is refused"),
    ("GET", "/v1.41/containers/jhub-unit-user-ann/json?size=1", b"", "no argument 'size'"),
    ("GET", "/v1.41/info?x=1", b"", "no argument 'x'"),
    ("POST", "/v1.41/containers/jhub-unit-user-ann/start", b"{}", "with a request body"),
]


@pytest.mark.parametrize(
    ("method", "target", "raw", "reason"),
    REQUEST_TRICKS,
    ids=[f"{m} {t[:60]}" for m, t, _, _ in REQUEST_TRICKS],
)
def test_api_proxy_bypass_a_request_two_readers_could_read_differently_is_refused(
    method: str, target: str, raw: bytes, reason: str
) -> None:
    policy = policy_for(
        {"auth": SHARED, "registry": {"enabled": True, "username": "teacher", "password": "pw"}}
    )
    body = body_of(PLAIN)
    raw = {
        b"BODY": json.dumps(body).encode(),
        b"DUPLICATE_HOSTCONFIG": _duplicate(
            '"HostConfig": {"Privileged": true, "PidMode": "host", "Binds": ["/:/host"]}', body
        ),
        b"DUPLICATE_NESTED": json.dumps(body)
        .replace(
            '"VolumeOptions": {',
            '"VolumeOptions": {"DriverConfig": {"Name": "local"}, "DriverConfig": null, ',
            1,
        )
        .encode(),
    }.get(raw, raw)
    if target.endswith("?"):
        # An empty query is no query: it passes as the same request without one.
        assert isinstance(ask_raw(policy, method, target, raw), Forward)
        return
    decision = ask_raw(policy, method, target, raw)
    assert isinstance(decision, Refused), decision
    assert reason.lower() in decision.reason.lower(), decision.reason


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
        ("POST", "/v1.41/images/jhub-unit-notebook-default:0123/tag"),
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
        ("POST", "/v1.41/images/load"),
        ("GET", "/v1.41/images/get"),
    ],
)
def test_api_proxy_refuses_every_route_dockerspawner_does_not_use(method: str, path: str) -> None:
    decision = ask(policy_for(PLAIN), method, path)
    assert isinstance(decision, Refused), (method, path)


def test_api_proxy_routes_dockerspawner_uses_pass_with_exactly_their_arguments() -> None:
    policy = policy_for(
        {"auth": SHARED, "registry": {"enabled": True, "username": "teacher", "password": "pw"}}
    )
    assert ask(policy, "GET", "/version") == Forward("/version", {}, cap_version=True)
    assert ask(policy, "HEAD", "/_ping") == Forward("/_ping", {})
    assert ask(policy, "GET", "/v1.41/info") == Forward("/info", {}, trim_info=True)
    assert set(INFO_FIELDS) >= {"NCPU", "MemTotal"}
    for method, action, query in (
        ("GET", "json", {}),
        ("POST", "start", {}),
        ("POST", "stop", {"t": "10"}),
        ("POST", "kill", {"signal": "SIGKILL"}),
    ):
        decision = ask(policy, method, f"/v1.41/containers/jhub-unit-user-ann/{action}", query)
        assert decision == Forward(
            f"/containers/jhub-unit-user-ann/{action}", query, target="jhub-unit-user-ann"
        )
    query = {"v": "False", "link": "False", "force": "True"}
    assert ask(policy, "DELETE", "/v1.41/containers/0123abc", query) == Forward(
        "/containers/0123abc", query, target="0123abc"
    )
    assert ask(policy, "GET", f"/v1.41/images/{IMAGE}/json") == Forward(f"/images/{IMAGE}/json", {})
    assert isinstance(ask(policy, "GET", "/v1.41/images/local/debian:bookworm/json"), Refused)
    repository, tag = IMAGE.split(":")
    pull = ask(policy, "POST", "/v1.41/images/create", {"fromImage": repository, "tag": tag})
    assert pull == Forward("/images/create", {"fromImage": repository, "tag": tag}, registry_auth=True)
    login = {"username": "teacher", "password": "pw", "email": None, "serveraddress": "localhost:5000"}
    assert ask(policy, "POST", "/v1.41/auth", body=login) == Forward("/auth", {}, body=login)
    assert isinstance(ask(policy_for(PLAIN), "POST", "/v1.41/auth", body={"serveraddress": "x"}), Refused)
    # No body where a route takes none.
    info = ask(policy, "GET", "/v1.41/info")
    assert isinstance(info, Forward) and info.body is NO_BODY


def test_api_proxy_rebuilds_the_target_from_what_it_read() -> None:
    policy = policy_for(PLAIN)
    request = created(PLAIN)
    decision = forwarded(policy, request)
    read = read_request("POST", request.target, request.raw)
    assert not isinstance(read, Refused)
    assert read.target.uri(decision.route, decision.query) == request.target
    digest = f"/v1.41/images/{IMAGE.split(':')[0]}%40sha256%3Aabc/json"
    inspect = read_request("GET", digest, b"")
    assert not isinstance(inspect, Refused)
    assert inspect.target.route == f"/images/{IMAGE.split(':')[0]}@sha256:abc/json"
    assert inspect.target.uri() == f"/v1.41/images/{IMAGE.split(':')[0]}@sha256:abc/json"


def test_api_proxy_answers_version_with_the_api_it_speaks_at_most() -> None:
    assert capped_version({"ApiVersion": "1.45", "Version": "26.1"}) == {
        "ApiVersion": "1.41",
        "Version": "26.1",
    }
    assert capped_version({"ApiVersion": "1.41"}) == {"ApiVersion": "1.41"}
    assert capped_version({"ApiVersion": "1.40"}) == {"ApiVersion": "1.40"}


def test_api_proxy_acts_only_on_containers_and_homes_the_engine_says_are_the_stacks() -> None:
    policy = policy_for(PLAIN)
    settings, _ = documents(PLAIN)
    ours = {"Config": {"Labels": settings["spawner"]["labels"]}}
    hub = {"Config": {"Labels": {**settings["spawner"]["labels"], "org.jupyterhub-docker.role": "hub"}}}
    other_stack = {
        "Config": {"Labels": {**settings["spawner"]["labels"], "org.jupyterhub-docker.stack": "x"}}
    }
    assert is_user_server(policy, ours)
    assert not is_user_server(policy, hub)
    assert not is_user_server(policy, other_stack)
    assert not is_user_server(policy, {"Config": {"Labels": None}})
    home = {"Labels": settings["spawner"]["volumeLabels"]}
    assert is_stack_home(policy, home)
    # The data volume of a stack `unit-home` is named like a home of stack `unit`.
    data = {"Labels": {**settings["spawner"]["volumeLabels"], "org.jupyterhub-docker.stack": "unit-home"}}
    assert not is_stack_home(policy, data)
    assert not is_stack_home(policy, {"Labels": None})


def accept_any_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if a settings file had been written by hand, or by a program older than the path rules
    (hub/system_paths.py): the program accepts any path; the proxy keeps its own copy of the rules."""
    import config.shared
    import config.stack

    monkeypatch.setattr(config.shared, "host_path_problem", lambda path, socket: None)
    monkeypatch.setattr(config.shared, "image_path_problem", lambda path: None)
    monkeypatch.setattr(config.stack, "image_path_problem", lambda path: None)


@pytest.fixture
def program_without_path_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    accept_any_path(monkeypatch)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            {"shared": [{"name": "run", "target": "/srv/run", "source": {"hostPath": "/var/run"}}]},
            "the host directory '/var/run' is /var/run, a system directory of the docker host",
        ),
        (
            {
                "shared": [
                    {"name": "d", "target": "/srv/d", "source": {"hostPath": "/var/lib/docker/volumes"}}
                ]
            },
            "is inside /var/lib/docker",
        ),
        (
            {
                "dockerHost": "unix:///srv/engine/docker.sock",
                "shared": [{"name": "e", "target": "/srv/e", "source": {"hostPath": "/srv/engine"}}],
            },
            "is or holds the docker engine's socket /srv/engine/docker.sock",
        ),
        (
            {"shared": [{"name": "e", "target": "/etc", "readOnly": True, "source": {"hostPath": "/srv/e"}}]},
            "mount at '/etc': is /etc, a system directory of the image",
        ),
        ({"spawner": {"homeDir": "/"}}, "mount at '/': is the image's root directory"),
        ({"spawner": {"homeDir": "/usr"}}, "mount at '/usr': is /usr"),
    ],
    ids=[
        "hostpath-var-run",
        "hostpath-docker-volumes",
        "hostpath-socket-dir",
        "target-etc",
        "home-root",
        "home-usr",
    ],
)
@pytest.mark.usefixtures("program_without_path_rules")
def test_api_proxy_hostpath_refuses_what_a_settings_file_asked_for_anyway(
    raw: dict[str, Any], reason: str
) -> None:
    settings = {"auth": SHARED, **raw}
    policy = policy_for(settings)
    request = created(settings)
    decision = ask_raw(policy, request.method, request.target, request.raw)
    assert isinstance(decision, Refused), decision
    assert reason in decision.reason.lower(), decision.reason


def test_api_proxy_hostpath_a_folder_made_for_sharing_still_passes() -> None:
    raw = {
        "auth": SHARED,
        "shared": [{"name": "d", "target": "/srv/d", "source": {"hostPath": "/srv/datasets"}}],
    }
    forwarded(policy_for(raw), created(raw))


@pytest.mark.usefixtures("program_without_path_rules")
def test_api_proxy_hostpath_a_swarm_service_over_a_system_directory_is_refused() -> None:
    from tests.unit.test_docker_policy_swarm import SWARM

    raw = {**SWARM, "spawner": {"homeDir": "/etc"}}
    request = created(raw)
    assert request.path.endswith("/services/create")
    decision = ask_raw(policy_for(raw), request.method, request.target, request.raw)
    assert isinstance(decision, Refused) and "mount at '/etc': is /etc, a system directory" in decision.reason
