"""What the Docker API proxy lets the hub do with Swarm services (orchestrator: swarm).

StackSwarmSpawner (hub/swarm_spawner.py, dockerspawner's SwarmSpawner underneath) calls, through
the proxy, `create_service`, `inspect_service`, `remove_service` and `tasks`, nothing else of
Swarm. A service spec is checked as hub/docker_policy.py checks a container's create: one of
the stack's notebook images, its labels, the users' overlay network, all capabilities dropped
(plus the start-as-root set where the stack opts in), the users' home volumes only (never with
driver options), a tmpfs at /tmp; and where it may run: one profile's placement constraints,
plus the `node.id==` pin of the home's node. Any field the spawner does not send is refused
while it has a value, so a field added to the engine API later stays refused until someone
decides it is safe (Secrets, Configs, Privileges, Sysctls, Hosts, Runtime, published ports,
global mode...).

A service the hub inspects, removes or lists the tasks of must carry the user-server labels in
its spec (the proxy checks the engine's own inspect, then names it by its full ID).
"""

from __future__ import annotations

import json
import re
from typing import Any

# hub/docker_policy.py imports this module where it routes a Swarm call, not at its top.
from hub.docker_policy import PolicyDocument, _struct, _volume_allowed, capability_problems

# The node a home volume lives on, as StackSwarmSpawner pins it (swarmkit node IDs are
# lower-case base36).
_NODE_PIN = re.compile(r"^node\.id==[a-z0-9]+$")
# Keys (lower-cased, as the engine's decoder matches them) that may carry a value; every other
# key with a value is refused.
_SERVICE_KEYS = {"name", "labels", "tasktemplate", "endpointspec", "mode"}
_TASK_KEYS = {"containerspec", "resources", "restartpolicy", "placement", "networks"}
# What the spawner's ContainerSpec holds (hub/swarm_spawner.py `_specs`, dockerspawner's
# `create_object`). Not among them: Privileges (seccomp, AppArmor, SELinux, credential specs),
# Secrets, Configs, Sysctls, Hosts, DNSConfig, Isolation, Init, Groups, Healthcheck.
_CONTAINER_KEYS = {
    "image",
    "labels",
    "command",
    "args",
    "env",
    "mounts",
    "capabilitydrop",
    "capabilityadd",
    "user",
    "readonly",
}
_MOUNT_KEYS = {"target", "source", "type", "readonly", "volumeoptions", "tmpfsoptions"}
_VOLUME_OPTION_KEYS = {"labels", "nocopy"}
_LIMIT_KEYS = {"memorybytes", "nanocpus"}
# `tasks` filters the spawner sends (dockerspawner swarmspawner.py `get_task`, `create_object`).
TASK_FILTERS = {"service", "desired-state"}


def _valued(document: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    """Keys outside `allowed` that carry a value (null, false, 0 and empty are the defaults the
    engine would use anyway)."""
    return [
        f"{where}.{key} is refused"
        for key, value in sorted(document.items())
        if key not in allowed and value not in (None, False, "", [], {}, 0)
    ]


def _labels_problems(policy: PolicyDocument, labels: Any, where: str) -> list[str]:
    return [
        f"{where} label {key}={value} is missing"
        for key, value in policy["labels"].items()
        if not isinstance(labels, dict) or labels.get(key) != value
    ]


def service_problems(policy: PolicyDocument, body: dict[str, Any]) -> list[str]:
    """Every reason a `services/create` body (keys already checked for ambiguity) is not a user
    server of this stack."""
    service = _struct(body)
    problems = _valued(service, _SERVICE_KEYS, "service")
    name = service.get("name")
    if not isinstance(name, str) or not name.startswith(policy["containerPrefix"] + "-"):
        problems.append(f"service name {name!r} does not start with {policy['containerPrefix']}-")
    problems += _labels_problems(policy, service.get("labels"), "service")
    problems += _mode_problems(service.get("mode"))
    endpoint = _struct(service.get("endpointspec"))
    problems += _valued(endpoint, {"mode"}, "EndpointSpec")
    if endpoint.get("mode") not in (None, "", "vip", "dnsrr"):
        problems.append(f"EndpointSpec.Mode {endpoint.get('mode')!r} is refused")
    task = _struct(service.get("tasktemplate"))
    if not isinstance(task.get("containerspec"), dict):
        return [*problems, "TaskTemplate.ContainerSpec is missing"]
    problems += _valued(task, _TASK_KEYS, "TaskTemplate")
    problems += _container_problems(policy, _struct(task["containerspec"]))
    problems += _network_problems(policy, task.get("networks"))
    problems += _placement_problems(policy, _struct(task.get("placement")))
    problems += _resources_problems(_struct(task.get("resources")))
    if task.get("restartpolicy") is not None and not isinstance(task["restartpolicy"], dict):
        problems.append("TaskTemplate.RestartPolicy is not an object")
    return problems


def _mode_problems(mode: Any) -> list[str]:
    # One task per server: a global service would run a user's server on every node. A mode's
    # key counts even with an empty value ({"Global": {}} is global mode).
    if mode is None or mode == {}:
        return []
    modes = _struct(mode)
    replicated = modes.get("replicated")
    replicas = _struct(replicated).get("replicas")
    if set(modes) != {"replicated"} or not isinstance(replicated, dict) or replicas not in (None, 0, 1):
        return [f"Mode {mode!r}: only replicated, with at most one replica"]
    return _valued(_struct(replicated), {"replicas"}, "Mode.Replicated")


def _container_problems(policy: PolicyDocument, container: dict[str, Any]) -> list[str]:
    problems = _valued(container, _CONTAINER_KEYS, "ContainerSpec")
    if container.get("image") not in policy["images"]:
        problems.append(f"image {container.get('image')!r} is not one of the stack's notebook images")
    # The firewall and the cleanup find user servers' containers by these labels.
    problems += _labels_problems(policy, container.get("labels"), "ContainerSpec")
    problems += capability_problems(
        policy,
        container.get("capabilitydrop"),
        container.get("capabilityadd"),
        "ContainerSpec.CapabilityDrop",
    )
    user = container.get("user")
    # Root only where the stack starts as root (the image switches user itself); a service spec
    # has no no-new-privileges, so no other user is sent either.
    if user not in (None, "") and not (user == "0" and policy["capabilities"]):
        problems.append(f"ContainerSpec.User {user!r} is refused")
    for raw in container.get("mounts") or []:
        problems += _mount_problems(policy, _struct(raw))
    return problems


def _mount_problems(policy: PolicyDocument, mount: dict[str, Any]) -> list[str]:
    kind, source = mount.get("type"), str(mount.get("source") or "")
    problems = _valued(mount, _MOUNT_KEYS, "Mount")
    if kind == "volume":
        if not _volume_allowed(policy, source):
            problems.append(f"volume {source!r}: only the users' homes and the shared folders")
        options = _struct(mount.get("volumeoptions"))
        # A `local` volume with o=bind is a bind mount of the node by another name.
        if options.get("driverconfig"):
            problems.append(f"volume {source!r}: driver options are refused")
        problems += _valued(options, _VOLUME_OPTION_KEYS, "VolumeOptions")
        labels = options.get("labels")
        if labels not in (None, {}) and labels != policy["volumeLabels"]:
            problems.append(f"volume {source!r}: labels {labels!r} are not the homes' labels")
    elif kind == "tmpfs":
        if mount.get("target") != "/tmp":
            problems.append(f"tmpfs at {mount.get('target')!r}: only at /tmp")
    else:
        # Binds included: a host directory is the node's, whichever node the task lands on.
        problems.append(f"mount type {kind!r} is refused on a swarm (source {source!r})")
    return problems


def _network_problems(policy: PolicyDocument, networks: Any) -> list[str]:
    # Aliases could take the hub's name on the users' network; DriverOpts are the driver's.
    attached = [_struct(network) for network in networks] if isinstance(networks, list) else []
    if len(attached) != 1 or attached[0] != {"target": policy["network"]}:
        return [f"TaskTemplate.Networks {networks!r}: only [{{'Target': {policy['network']!r}}}]"]
    return []


def _placement_problems(policy: PolicyDocument, placement: dict[str, Any]) -> list[str]:
    problems = _valued(placement, {"constraints"}, "Placement")
    constraints = placement.get("constraints") or []
    if not isinstance(constraints, list) or not all(isinstance(c, str) for c in constraints):
        return [*problems, f"Placement.Constraints {constraints!r} is not a list of strings"]
    pins = [c for c in constraints if _NODE_PIN.match(c)]
    chosen = sorted(set(constraints) - set(pins))
    # Constraints are ANDed: every one of a profile's must be there, or dropping one would widen
    # where the server may run (onto a manager, say). Without profiles the spawner sends none.
    profiles = [sorted(set(p)) for p in policy["placements"]] or [[]]
    if chosen not in profiles:
        problems.append(f"Placement.Constraints {chosen!r} are not one profile's placement {profiles!r}")
    if len(pins) > 1:
        problems.append(f"Placement.Constraints pin more than one node: {pins!r}")
    return problems


def _resources_problems(resources: dict[str, Any]) -> list[str]:
    problems = _valued(resources, {"limits", "reservations"}, "Resources")
    for key in ("limits", "reservations"):
        problems += _valued(_struct(resources.get(key)), _LIMIT_KEYS, f"Resources.{key}")
    return problems


def task_filters(query: dict[str, str]) -> tuple[str, dict[str, list[str]]] | str:
    """The one service a `tasks` call lists, and the filters as the proxy forwards them (its own
    JSON, so the engine reads what was checked); or why the call is refused."""
    if set(query) != {"filters"}:
        return f"GET /tasks takes a filters query only, not {sorted(query)}"
    try:
        filters = json.loads(query["filters"])
    except ValueError:
        return "GET /tasks: filters is not JSON"
    if not isinstance(filters, dict) or not set(filters) <= TASK_FILTERS:
        return f"GET /tasks: only the filters {sorted(TASK_FILTERS)}"
    checked: dict[str, list[str]] = {}
    for key, values in filters.items():
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            return f"GET /tasks: filter {key!r} is not a list of strings"
        checked[key] = list(values)
    service = checked.get("service", [])
    if len(service) != 1 or not service[0]:
        return "GET /tasks: the service filter must name exactly one service"
    return service[0], checked


def is_user_service(policy: PolicyDocument, inspected: dict[str, Any]) -> bool:
    """The engine's own description of a service says it is one of this stack's servers."""
    labels = (inspected.get("Spec") or {}).get("Labels") or {}
    wanted = policy["labels"].items()
    return isinstance(labels, dict) and all(labels.get(key) == value for key, value in wanted)
