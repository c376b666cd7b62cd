"""What the stack's Docker API proxy lets the hub do (hub/docker_api_proxy.py serves it).

The hub reaches the engine only through that proxy, so code running in the hub can do what
DockerSpawner does for this stack and nothing else:

- ping, version, a trimmed `info` (the CPU count and memory the spawn limits are sized by);
- create a container only as DockerSpawner creates a user server: the stack's labels and name
  prefix, one of the stack's notebook images, the users' network, all capabilities dropped
  (plus the start-as-root set where the stack opts in), `no-new-privileges`, no privileged mode,
  host namespaces, published ports, devices, sysctls or bind mounts other than the configured
  shared folders, volumes only the users' homes and the shared folders (never with driver
  options: a `local` volume with `o=bind` is a bind mount by another name);
- inspect, start, stop, kill and remove containers that carry the stack's user-server
  labels (checked on the engine's own answer, by the container's full ID);
- inspect and pull the stack's notebook images, and log in to the stack's registry;
- on a swarm (orchestrator: swarm) only: create, inspect and remove services as
  StackSwarmSpawner creates a user server, and list the tasks of one such service
  (hub/service_policy.py).

Everything else is refused with 403 and a message naming the rule: exec, builds, volumes and
networks API, swarm, plugins, system-wide calls, containers of anyone else. The policy is plain
data rendered by the program from the hub's own settings (`policy_document`), so the two cannot
disagree about images, networks or names.

Paths are matched after the optional API version prefix (`/v1.41/...`), as the engine itself
routes them (moby api/server/router: every route is registered with and without it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import unquote

from hub.contract import Settings
from hub.hardening import ROOT_START_CAPABILITIES, device_requests

POLICY_FILE = "/etc/jhub/docker-api-policy.json"
PORT = 2375


class PolicyDocument(TypedDict):
    # The labels every user server carries (project, stack, role=user-server).
    labels: dict[str, str]
    network: str
    containerPrefix: str
    volumePrefix: str
    # Shared folders: named volumes, and host directories (type bind), by exact name or path.
    sharedVolumes: list[str]
    sharedBinds: list[str]
    images: list[str]
    capabilities: list[str]
    deviceRequests: list[dict[str, Any]]
    registry: str | None
    # "swarm": users' servers are services (hub/service_policy.py); "docker": every service
    # route is refused.
    orchestrator: str
    # Every profile's Swarm placement constraints: a service runs under one of them (plus its
    # home's node).
    placements: list[list[str]]
    # The labels of a user's home volume, as a service's volume mount carries them.
    volumeLabels: dict[str, str]


def policy_document(settings: Settings) -> PolicyDocument:
    """What the API proxy enforces, derived from the settings the hub runs with."""
    spawner = settings["spawner"]
    profiles = settings.get("profiles", [])
    folders = settings.get("shared", [])
    root = spawner["startsAsRoot"] or any(p["startsAsRoot"] for p in profiles)
    gpus = [device_requests(p["gpus"]) for p in profiles if p["gpus"] is not None]
    requests = [request for requested in gpus for request in requested]
    registry = settings["registry"]
    return {
        "labels": dict(spawner["labels"]),
        "network": spawner["network"],
        "containerPrefix": spawner["containerPrefix"],
        "volumePrefix": spawner["volumePrefix"],
        "sharedVolumes": sorted(f["source"] for f in folders if f["type"] == "volume"),
        "sharedBinds": sorted(f["source"] for f in folders if f["type"] == "bind"),
        "images": sorted(set(spawner["images"].values()) | {spawner["image"]}),
        "capabilities": sorted(ROOT_START_CAPABILITIES) if root else [],
        "deviceRequests": requests,
        "registry": None if registry is None else registry["server"],
        "orchestrator": spawner["orchestrator"],
        "placements": [list(p["placement"]) for p in profiles],
        "volumeLabels": dict(spawner["volumeLabels"]),
    }


@dataclass(frozen=True)
class Refused:
    """A 403 from the proxy; `reason` names the rule, for the hub's log and the person reading it."""

    reason: str


@dataclass(frozen=True)
class Forward:
    """Pass the request on. `target`: a container the call acts on, which must be one of the
    stack's user servers (the proxy inspects it first); `trim_info`: answer with the few `info`
    fields the hub reads; `service`: as `target`, a Swarm service (hub/service_policy.py);
    `task_filters`: a `tasks` call on `service`, forwarded with these filters and the service's
    full ID; `registry_auth`: whether the request's X-Registry-Auth header goes along."""

    target: str | None = None
    trim_info: bool = False
    service: str | None = None
    task_filters: dict[str, list[str]] | None = None
    registry_auth: bool = True


Decision = Forward | Refused

_VERSION = re.compile(r"^/v([0-9]+)\.([0-9]+)(?=/)")
# Below 1.24 the engine applies a HostConfig sent with `start` (moby api/server/router/container
# container_routes.go `postContainersStart`): a privileged container by another door. Newer
# clients (docker-py negotiates 1.41 with Debian's engine) never send one.
MIN_API_VERSION = (1, 40)
_CONTAINER_ACTION = re.compile(r"^/containers/([^/]+)/(json|start|stop|kill)$")
_CONTAINER = re.compile(r"^/containers/([^/]+)$")
_IMAGE_INSPECT = re.compile(r"^/images/(.+)/json$")
_SERVICE = re.compile(r"^/services/([^/]+)$")
# Only what the engine needs to answer and the hub reads from `info` (hub/servers.py,
# hub/throughput.py): the rest (host name, kernel, registry mirrors, swarm) stays hidden.
INFO_FIELDS = ("NCPU", "MemTotal", "ServerVersion", "OSType", "Architecture")
NAMESPACE_MODES = ("pidmode", "ipcmode", "utsmode", "usernsmode", "cgroupnsmode")
# HostConfig fields DockerSpawner and hub/hardening.py set, checked below or harmless
# (resource limits), as the engine's decoder matches them: case-insensitively. Not among them:
# LogConfig (a syslog or fluentd driver makes the engine connect out from the host: a request
# forger), OomScoreAdj (a server the kernel never kills, others instead). Any other
# field with a value is refused, so a field added to the engine API later is refused until
# someone decides it is safe.
_CHECKED_HOST_FIELDS = {
    "networkmode",
    "capadd",
    "capdrop",
    "securityopt",
    "binds",
    "mounts",
    "devicerequests",
    "tmpfs",
    "readonlyrootfs",
    "autoremove",
    "memory",
    "memoryswap",
    "memoryreservation",
    "nanocpus",
    "cpuperiod",
    "cpuquota",
    "cpushares",
    "pidslimit",
    "shmsize",
    "init",
    "restartpolicy",
    "dns",
    "dnsoptions",
    "dnssearch",
    "extrahosts",
    *NAMESPACE_MODES,
}
# Present at all, even empty, these change the container: an empty MaskedPaths unmasks /proc
# (moby daemon/oci_linux.go: a non-nil list replaces the defaults).
_PRESENCE_REFUSED = {"maskedpaths", "readonlypaths"}
NO_NEW_PRIVILEGES = {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"}


def api_path(path: str) -> str:
    """The route without the API version prefix."""
    return _VERSION.sub("", path, count=1)


def decide(policy: PolicyDocument, method: str, path: str, query: dict[str, str], body: Any) -> Decision:
    """Whether the request may pass (path and query as received, body parsed from JSON or None)."""
    version = _VERSION.match(path)
    if version and (int(version.group(1)), int(version.group(2))) < MIN_API_VERSION:
        return Refused(f"API version {version.group(1)}.{version.group(2)} is older than 1.40")
    route = api_path(path)
    # `get`: a policy file rendered before the key existed is a plain Docker stack's.
    if policy.get("orchestrator") == "swarm" and (route.startswith("/services/") or route == "/tasks"):
        return _swarm(policy, method, route, query, body)
    if route == "/containers/create" and method == "POST":
        problems = create_problems(policy, query.get("name", ""), body)
        return Refused("; ".join(problems)) if problems else Forward()
    if body is not None and route != "/auth":
        # Every other route DockerSpawner uses has no body; one sent anyway is not looked at.
        return Refused(f"{method} {route} with a request body")
    if route == "/_ping" and method in ("GET", "HEAD"):
        return Forward()
    if route == "/version" and method == "GET":
        return Forward()
    if route == "/info" and method == "GET":
        return Forward(trim_info=True)
    action = _CONTAINER_ACTION.match(route)
    allowed_actions = (("GET", "json"), ("POST", "start"), ("POST", "stop"), ("POST", "kill"))
    if action and (method, action.group(2)) in allowed_actions:
        return Forward(target=unquote(action.group(1)))
    container = _CONTAINER.match(route)
    if container and method == "DELETE":
        return Forward(target=unquote(container.group(1)))
    image = _IMAGE_INSPECT.match(route)
    if image and method == "GET":
        name = unquote(image.group(1))
        if name in policy["images"]:
            return Forward()
        return Refused(f"image {name!r} is not one of the stack's notebook images")
    if route == "/images/create" and method == "POST":
        return _pull(policy, query)
    if route == "/auth" and method == "POST":
        if policy["registry"] is not None and _struct(body).get("serveraddress") == policy["registry"]:
            return Forward()
        return Refused("logging in is allowed only to the stack's registry")
    return Refused(f"{method} {route} is not something DockerSpawner does for this stack")


def _swarm(policy: PolicyDocument, method: str, route: str, query: dict[str, str], body: Any) -> Decision:
    """The Swarm calls StackSwarmSpawner makes (hub/service_policy.py has the rules)."""
    # Imported here: hub/service_policy.py builds on this module's types.
    from hub import service_policy

    if route == "/services/create" and method == "POST":
        if not isinstance(body, dict):
            return Refused("the request body is not a JSON object")
        problems = _ambiguous_keys(body) or service_policy.service_problems(policy, body)
        if query:
            problems.append(f"POST /services/create takes no query, not {sorted(query)}")
        # The registry's credentials go to the manager, which hands them to the node that pulls.
        if problems:
            return Refused("; ".join(problems))
        return Forward(registry_auth=policy["registry"] is not None)
    if body is not None:
        return Refused(f"{method} {route} with a request body")
    service = _SERVICE.match(route)
    if service and method in ("GET", "DELETE") and service.group(1) != "create":
        if query:
            # insertDefaults and the like: the spawner sends none, and the check's inspect is the answer.
            return Refused(f"{method} {route} takes no query, not {sorted(query)}")
        return Forward(service=unquote(service.group(1)))
    if route == "/tasks" and method == "GET":
        chosen = service_policy.task_filters(query)
        if isinstance(chosen, str):
            return Refused(chosen)
        return Forward(service=chosen[0], task_filters=chosen[1])
    return Refused(f"{method} {route} is not something SwarmSpawner does for this stack")


def _pull(policy: PolicyDocument, query: dict[str, str]) -> Decision:
    name, tag = query.get("fromImage", ""), query.get("tag", "")
    if tag:
        name += ("@" if tag.startswith("sha256:") else ":") + tag
    if name in policy["images"]:
        return Forward()
    return Refused(f"pulling {name!r} is refused: only the stack's notebook images are pulled")


def is_user_server(policy: PolicyDocument, inspected: dict[str, Any]) -> bool:
    """The engine's own description of a container says it is one of this stack's servers."""
    labels = (inspected.get("Config") or {}).get("Labels") or {}
    return all(labels.get(key) == value for key, value in policy["labels"].items())


def _struct(value: Any) -> dict[str, Any]:
    """A JSON object as the engine's Go decoder fills a struct from it: field names match
    case-insensitively (encoding/json), so they are compared lower-cased here; keys that
    would fold together are refused before (`_ambiguous_keys`)."""
    return {str(key).lower(): item for key, item in value.items()} if isinstance(value, dict) else {}


def _ambiguous_keys(value: Any, where: str = "body") -> list[str]:
    """Keys the engine could read differently from this module: non-ASCII (Go folds the long s,
    U+017F, to 's' and the Kelvin sign to 'k') or two keys of one object equal but for case (the
    engine keeps the last)."""
    problems: list[str] = []
    if isinstance(value, dict):
        seen: set[str] = set()
        for key, item in value.items():
            key = str(key)
            if not key.isascii() or key.lower() in seen:
                problems.append(f"ambiguous key {key!r} in {where}")
            seen.add(key.lower())
            problems.extend(_ambiguous_keys(item, f"{where}.{key}"))
    elif isinstance(value, list):
        for item in value:
            problems.extend(_ambiguous_keys(item, where))
    return problems


def create_problems(policy: PolicyDocument, name: str, body: Any) -> list[str]:
    """Every reason a `containers/create` request is not a user server of this stack."""
    if not isinstance(body, dict):
        return ["the request body is not a JSON object"]
    problems = _ambiguous_keys(body)
    if problems:
        return problems
    config = _struct(body)
    if not name.startswith(policy["containerPrefix"] + "-"):
        problems.append(f"container name {name!r} does not start with {policy['containerPrefix']}-")
    if config.get("image") not in policy["images"]:
        problems.append(f"image {config.get('image')!r} is not one of the stack's notebook images")
    labels = config.get("labels") or {}
    for key, value in policy["labels"].items():
        if not isinstance(labels, dict) or labels.get(key) != value:
            problems.append(f"label {key}={value} is missing")
    # DockerSpawner joins the network through NetworkMode only: an endpoint with aliases could
    # take the hub's name on the users' network, a fixed address someone else's.
    endpoints = _struct(config.get("networkingconfig")).get("endpointsconfig") or {}
    if not isinstance(endpoints, dict) or any(
        name != policy["network"] or any(_struct(settings).values()) for name, settings in endpoints.items()
    ):
        problems.append(
            f"NetworkingConfig {endpoints!r}: only NetworkMode {policy['network']}, without settings"
        )
    if not isinstance(config.get("hostconfig"), dict):
        return [*problems, "HostConfig is missing"]
    host = _struct(config["hostconfig"])
    for check in _HOST_CHECKS:
        problems.extend(check(policy, host))
    return problems


def _network(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    if host.get("networkmode") != policy["network"]:
        return [f"NetworkMode {host.get('networkmode')!r}: only the users' network {policy['network']}"]
    return []


def _fields(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    # Privileged, PortBindings, Devices, VolumesFrom, Sysctls, CgroupParent, Runtime, Links,
    # MaskedPaths... all land here.
    return [
        f"HostConfig.{field} is refused"
        for field, value in sorted(host.items())
        if field in _PRESENCE_REFUSED
        or (field not in _CHECKED_HOST_FIELDS and value not in (None, False, "", [], {}, 0))
    ]


def _namespaces(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    # "host" shares the host's namespace, "container:<id>" another container's.
    allowed = ("", "private", "none", "shareable")
    return [
        f"HostConfig.{mode} {host[mode]!r}: only the container's own namespace"
        for mode in NAMESPACE_MODES
        if (host.get(mode) or "") not in allowed
    ]


def capability_problems(policy: PolicyDocument, dropped: Any, added: Any, drop_field: str) -> list[str]:
    """Every capability dropped, and added back only the start-as-root set where the stack opts
    in: the same rule for a container's HostConfig and a service's ContainerSpec."""
    problems = []
    if "ALL" not in {str(cap).upper() for cap in dropped or []}:
        problems.append(f"{drop_field} must be ALL")
    allowed = set(policy["capabilities"])
    extra = {str(cap).upper().removeprefix("CAP_") for cap in added or []} - allowed
    if extra:
        problems.append(f"capabilities {sorted(extra)} are refused (allowed: {sorted(allowed)})")
    return problems


def _capabilities(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    problems = capability_problems(policy, host.get("capdrop"), host.get("capadd"), "CapDrop")
    options = set(host.get("securityopt") or [])
    if not options & NO_NEW_PRIVILEGES or options - NO_NEW_PRIVILEGES:
        problems.append(f"SecurityOpt must be no-new-privileges and nothing else, not {sorted(options)}")
    return problems


def _volume_allowed(policy: PolicyDocument, source: str) -> bool:
    return source.startswith(policy["volumePrefix"] + "-") or source in policy["sharedVolumes"]


def _mounts(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    problems = []
    for bind in host.get("binds") or []:
        source = str(bind).split(":", 1)[0]
        allowed = (
            source in policy["sharedBinds"] if source.startswith("/") else _volume_allowed(policy, source)
        )
        if not allowed:
            problems.append(f"bind {bind!r}: only the users' homes and the shared folders")
    for raw in host.get("mounts") or []:
        mount = _struct(raw)
        kind, source = mount.get("type"), str(mount.get("source") or "")
        if kind == "volume":
            if not _volume_allowed(policy, source):
                problems.append(f"volume {source!r}: only the users' homes and the shared folders")
            if _struct(mount.get("volumeoptions")).get("driverconfig"):
                problems.append(f"volume {source!r}: driver options are refused")
        elif kind == "bind":
            if source not in policy["sharedBinds"]:
                problems.append(f"bind mount of {source!r}: only the configured shared folders")
        elif kind != "tmpfs":
            problems.append(f"mount type {kind!r} is refused")
    return problems


def _devices(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    requested = host.get("devicerequests") or []
    unknown = [request for request in requested if request not in policy["deviceRequests"]]
    if unknown:
        return [f"DeviceRequests {unknown} are not a profile's GPUs"]
    return []


_HOST_CHECKS: tuple[Callable[[PolicyDocument, dict[str, Any]], list[str]], ...] = (
    _network,
    _fields,
    _namespaces,
    _capabilities,
    _mounts,
    _devices,
)
