"""What the Docker API proxy lets the hub do with Swarm services (orchestrator: swarm).

StackSwarmSpawner (hub/spawners/swarm_spawner.py, dockerspawner's SwarmSpawner underneath) calls, through
the proxy, `create_service`, `inspect_service`, `remove_service` and `tasks`, nothing else of
Swarm. A service spec is checked as hub/api_proxy/container_policy.py checks a container's create: one
server shape whole (image, memory and CPU limits, user, added capabilities), its labels, the
users' overlay network, all capabilities dropped, the server's own home at the home's target
(never with driver options), a tmpfs at /tmp where the root filesystem is read-only, no restart;
and where it may run: one profile's placement constraints, plus the `node.id==` pin of the
home's node. Any field the spawner does not send is refused
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

from hub.api_proxy.policy_document import PolicyDocument
from hub.api_proxy.server_rules import (
    Asked,
    ServerName,
    added_capabilities,
    capability_problems,
    home_problems,
    is_default,
    lowered,
    server_name,
    shape_problems,
)
from hub.system_paths import image_path_problem

# The node a home volume lives on, as StackSwarmSpawner pins it (swarmkit node IDs are
# lower-case base36).
_NODE_PIN = re.compile(r"^node\.id==[a-z0-9]+$")
# Keys (lower-cased, as the engine's decoder matches them) that may carry a value; every other
# key with a value is refused.
_SERVICE_KEYS = {"name", "labels", "tasktemplate", "endpointspec", "mode"}
_TASK_KEYS = {"containerspec", "resources", "restartpolicy", "placement", "networks"}
# What the spawner's ContainerSpec holds (hub/spawners/swarm_spawner.py `_specs`, dockerspawner's
# `create_object`). Not among them: Privileges (seccomp, AppArmor, SELinux, credential specs),
# Secrets, Configs, Sysctls, Hosts, DNSConfig, Isolation, Init, Groups, Healthcheck, Dir.
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
_MOUNT_KEYS = {"target", "source", "type", "readonly", "volumeoptions"}
_VOLUME_OPTION_KEYS = {"labels", "nocopy"}
_LIMIT_KEYS = {"memorybytes", "nanocpus"}
_RESTART_KEYS = {"condition", "delay", "maxattempts", "window"}
# `tasks` filters the spawner sends (dockerspawner swarmspawner.py `get_task`, `create_object`).
TASK_FILTERS = {"service", "desired-state"}


def _valued(document: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    """Keys outside `allowed` that carry a value (null, false, 0 and empty are the defaults the
    engine would use anyway)."""
    return [
        f"{where}.{key} is refused"
        for key, value in sorted(document.items())
        if key not in allowed and not is_default(value)
    ]


def _labels_problems(policy: PolicyDocument, labels: Any, where: str) -> list[str]:
    return [
        f"{where} label {key}={value} is missing"
        for key, value in policy["labels"].items()
        if not isinstance(labels, dict) or labels.get(key) != value
    ]


def service_problems(policy: PolicyDocument, body: Any) -> list[str]:
    """Every reason a `services/create` body is not a user server of this stack."""
    if not isinstance(body, dict):
        return ["the request body is not a JSON object"]
    service = lowered(body)
    problems = _valued(service, _SERVICE_KEYS, "service")
    name = server_name(policy, service.get("name"))
    if isinstance(name, str):
        problems.append(f"service {name}")
    problems += _labels_problems(policy, service.get("labels"), "service")
    problems += _mode_problems(service.get("mode"))
    endpoint = lowered(service.get("endpointspec"))
    problems += _valued(endpoint, {"mode"}, "EndpointSpec")
    if endpoint.get("mode") not in (None, "", "vip", "dnsrr"):
        problems.append(f"EndpointSpec.Mode {endpoint.get('mode')!r} is refused")
    task = lowered(service.get("tasktemplate"))
    if not isinstance(task.get("containerspec"), dict):
        return [*problems, "TaskTemplate.ContainerSpec is missing"]
    problems += _valued(task, _TASK_KEYS, "TaskTemplate")
    container = lowered(task["containerspec"])
    problems += _container_problems(policy, name, container)
    problems += _network_problems(policy, task.get("networks"))
    problems += _placement_problems(policy, lowered(task.get("placement")))
    resources = lowered(task.get("resources"))
    problems += _resources_problems(resources)
    limits = lowered(resources.get("limits"))
    asked = Asked(
        image=container.get("image"),
        memory=limits.get("memorybytes"),
        reservation=lowered(resources.get("reservations")).get("memorybytes"),
        cpu=limits.get("nanocpus"),
        user=container.get("user") or "",
        capabilities=added_capabilities(container.get("capabilityadd")),
        device_requests=None,
    )
    problems += shape_problems(policy, asked, "nanoCpus", "Resources.Limits")
    problems += _restart_problems(task.get("restartpolicy"))
    return problems


def _restart_problems(restart: Any) -> list[str]:
    # The spawner's: never restarted (a crashing server would restart forever).
    policy = lowered(restart)
    if (
        not isinstance(restart, dict)
        or set(policy) - _RESTART_KEYS
        or policy.get("condition") != "none"
        or any(not is_default(policy.get(key)) for key in ("delay", "maxattempts", "window"))
    ):
        return [f"TaskTemplate.RestartPolicy {restart!r}: only Condition none"]
    return []


def _mode_problems(mode: Any) -> list[str]:
    # One task per server: a global service would run a user's server on every node. A mode's
    # key counts even with an empty value ({"Global": {}} is global mode).
    if mode is None or mode == {}:
        return []
    modes = lowered(mode)
    replicated = modes.get("replicated")
    replicas = lowered(replicated).get("replicas")
    if set(modes) != {"replicated"} or not isinstance(replicated, dict) or replicas not in (None, 0, 1):
        return [f"Mode {mode!r}: only replicated, with at most one replica"]
    return _valued(lowered(replicated), {"replicas"}, "Mode.Replicated")


def _container_problems(
    policy: PolicyDocument, name: ServerName | str, container: dict[str, Any]
) -> list[str]:
    problems = _valued(container, _CONTAINER_KEYS, "ContainerSpec")
    # The firewall and the cleanup find user servers' containers by these labels.
    problems += _labels_problems(policy, container.get("labels"), "ContainerSpec")
    problems += capability_problems(
        container.get("capabilitydrop"), container.get("capabilityadd"), "ContainerSpec.CapabilityDrop"
    )
    if bool(container.get("readonly")) != policy["readOnlyRootfs"]:
        problems.append(f"ContainerSpec.ReadOnly must be {policy['readOnlyRootfs']}")
    for key in ("command", "args", "env"):
        value = container.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"ContainerSpec.{key} is not a list of strings")
    mounts = container.get("mounts")
    if not isinstance(mounts, list):
        return [*problems, "ContainerSpec.Mounts must list the home"]
    wanted = [policy["homeTarget"], *policy["tmpfs"]]
    targets = [lowered(raw).get("target") for raw in mounts]
    if sorted(map(str, targets)) != sorted(wanted):
        problems.append(f"mounts at {targets!r}: exactly {sorted(wanted)}")
    for raw in mounts:
        problems += _mount_problems(policy, name, lowered(raw))
    return problems


def _mount_problems(policy: PolicyDocument, name: ServerName | str, mount: dict[str, Any]) -> list[str]:
    kind, source = mount.get("type"), mount.get("source")
    problems = _valued(mount, _MOUNT_KEYS, "Mount")
    if mount.get("readonly") not in (None, True, False):
        problems.append("Mount.ReadOnly is not a boolean")
    hidden = image_path_problem(str(mount.get("target")))
    if hidden is not None:
        # Defence in depth, as for containers (hub/api_proxy/container_policy.py).
        problems.append(f"mount at {mount.get('target')!r}: {hidden}")
    if kind == "volume":
        if mount.get("target") != policy["homeTarget"]:
            problems.append(
                f"volume {source!r} at {mount.get('target')!r}: only the home, at {policy['homeTarget']}"
            )
        problems += home_problems(policy, name, source)
        options = lowered(mount.get("volumeoptions"))
        # A `local` volume with o=bind is a bind mount of the node by another name.
        if options.get("driverconfig"):
            problems.append(f"volume {source!r}: driver options are refused")
        problems += _valued(options, _VOLUME_OPTION_KEYS, "VolumeOptions")
        labels = options.get("labels")
        if labels not in (None, {}) and labels != policy["volumeLabels"]:
            problems.append(f"volume {source!r}: labels {labels!r} are not the homes' labels")
    elif kind == "tmpfs":
        if (
            not isinstance(mount.get("target"), str)
            or mount["target"] not in policy["tmpfs"]
            or not is_default(source)
        ):
            problems.append(f"tmpfs at {mount.get('target')!r}: only at /tmp beside a read-only root")
    else:
        # Binds included: a host directory is the node's, whichever node the task lands on.
        problems.append(f"mount type {kind!r} is refused on a swarm (source {source!r})")
    return problems


def _network_problems(policy: PolicyDocument, networks: Any) -> list[str]:
    # Aliases could take the hub's name on the users' network; DriverOpts are the driver's.
    attached = [lowered(network) for network in networks] if isinstance(networks, list) else []
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
    # The limits and the memory reservation are the shape's (service_problems); no CPU, no
    # generic resources are reserved.
    problems = _valued(resources, {"limits", "reservations"}, "Resources")
    problems += _valued(lowered(resources.get("limits")), _LIMIT_KEYS, "Resources.limits")
    problems += _valued(lowered(resources.get("reservations")), {"memorybytes"}, "Resources.reservations")
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
