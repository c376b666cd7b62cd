"""What a `containers/create` request may ask for: a user server of this stack, exactly as
DockerSpawner creates one from the hub's settings, and nothing an engine would read more into.

Every key of the body is known here, with the values it may have; a key the policy does not
know is refused whatever its value (a field added to the engine API later stays refused until
someone decides it is safe). This matters at the top level too: the engine decodes the body
into a wrapper that embeds a whole HostConfig beside the Config, and takes Memory, MemorySwap,
CpuShares, CpusetCpus and VolumeDriver from the top level when HostConfig leaves them unset,
and every host field when HostConfig is absent (moby v20.10 runconfig/config.go
`ContainerConfigWrapper`, runconfig/config_unix.go `getHostConfig`).

Values, not only fields: the limits are those of one of the stack's server shapes (memory, CPU,
PIDs, no swap beyond memory, no extra shared memory), the mounts exactly the home and the shared
folders at their targets (read-only where nobody may write), the user the configured one, no
working directory (CVE-2024-21626 needed one under /proc/self/fd), no anonymous volumes, no
restart policy beyond the spawner's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hub.api_proxy.policy_document import CPU_PERIOD, PolicyDocument
from hub.api_proxy.server_rules import (
    Asked,
    ServerName,
    added_capabilities,
    capability_problems,
    home_problems,
    is_default,
    is_int,
    lowered,
    server_name,
    shape_problems,
)
from hub.system_paths import host_path_problem, image_path_problem

NO_NEW_PRIVILEGES = {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"}
NAMESPACE_MODES = ("pidmode", "ipcmode", "utsmode", "usernsmode", "cgroupnsmode")
_EXPOSED_PORT = re.compile(r"^[0-9]{1,5}/tcp$")

Check = Callable[[Any], bool]


def _empty(value: Any) -> bool:
    return is_default(value)


def _strings(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _ports(value: Any) -> bool:
    # Exposed, never published (published ports live in HostConfig.PortBindings, refused).
    return value is None or (
        isinstance(value, dict)
        and all(_EXPOSED_PORT.match(str(key)) and item in (None, {}) for key, item in value.items())
    )


# The Config keys docker-py sends for DockerSpawner (docker/types/containers.py
# `ContainerConfig`) with what each may hold. Image, User and Labels are checked with the shape;
# Cmd and Env run inside the confined container and are the hub's business.
_CONFIG_VALUES: dict[str, Check] = {
    "image": lambda value: True,
    "user": lambda value: True,
    "labels": lambda value: True,
    "hostconfig": lambda value: True,
    "networkingconfig": lambda value: True,
    "cmd": _strings,
    "env": _strings,
    "exposedports": _ports,
    "attachstdout": _bool,
    "attachstderr": _bool,
    "tty": _empty,
    "openstdin": _empty,
    "stdinonce": _empty,
    "attachstdin": _empty,
    "networkdisabled": _empty,
    "volumes": _empty,
    "hostname": _empty,
    "domainname": _empty,
    "workingdir": _empty,
    "entrypoint": _empty,
    "macaddress": _empty,
    "stopsignal": _empty,
    "stoptimeout": _empty,
    "healthcheck": _empty,
}
_MOUNT_KEYS = {"type", "source", "target", "readonly", "consistency", "volumeoptions"}
_VOLUME_OPTION_KEYS = {"labels", "nocopy"}


def create_problems(policy: PolicyDocument, name: str, body: Any) -> list[str]:
    """Every reason a `containers/create` request is not a user server of this stack."""
    if not isinstance(body, dict):
        return ["the request body is not a JSON object"]
    config = lowered(body)
    problems = [
        f"{key} is refused" if key not in _CONFIG_VALUES else f"{key} {value!r} is refused"
        for key, value in sorted(config.items())
        if key not in _CONFIG_VALUES or not _CONFIG_VALUES[key](value)
    ]
    server = server_name(policy, name)
    if isinstance(server, str):
        problems.append(f"container {server}")
    labels = config.get("labels")
    for key, value in policy["labels"].items():
        if not isinstance(labels, dict) or labels.get(key) != value:
            problems.append(f"label {key}={value} is missing")
    if labels is not None and not (
        isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values())
    ):
        problems.append("Labels is not a map of strings")
    problems += _networking_problems(policy, config.get("networkingconfig"))
    if not isinstance(config.get("hostconfig"), dict):
        return [*problems, "HostConfig is missing"]
    host = lowered(config["hostconfig"])
    problems += _host_problems(policy, host)
    problems += _mount_problems(policy, server, host.get("mounts"))
    problems += capability_problems(host.get("capdrop"), host.get("capadd"), "CapDrop")
    asked = Asked(
        image=config.get("image"),
        memory=host.get("memory"),
        reservation=host.get("memoryreservation"),
        cpu=host.get("cpuquota"),
        user=config.get("user") or "",
        capabilities=added_capabilities(host.get("capadd")),
        device_requests=host.get("devicerequests"),
    )
    problems += shape_problems(policy, asked, "cpuQuota", "HostConfig")
    return problems


def _networking_problems(policy: PolicyDocument, networking: Any) -> list[str]:
    # DockerSpawner joins the network through NetworkMode only: an endpoint with aliases could
    # take the hub's name on the users' network, a fixed address someone else's.
    if networking is None:
        return []
    document = lowered(networking)
    endpoints = document.get("endpointsconfig") or {}
    if (
        not isinstance(networking, dict)
        or set(document) - {"endpointsconfig"}
        or not isinstance(endpoints, dict)
        or any(name != policy["network"] or lowered(s) != {} for name, s in endpoints.items())
    ):
        return [f"NetworkingConfig {networking!r}: only NetworkMode {policy['network']}, without settings"]
    return []


def _exactly(value: Any, wanted: Any) -> bool:
    return type(value) is type(wanted) and value == wanted


def _restart(value: Any) -> bool:
    policy = lowered(value)
    return value is None or (
        isinstance(value, dict)
        and set(policy) <= {"name", "maximumretrycount"}
        and policy.get("name") in (None, "", "no")
        and policy.get("maximumretrycount") in (None, 0)
    )


def _host_values(policy: PolicyDocument) -> dict[str, Check]:
    """Each HostConfig key the spawner sends, with the one value (or kind of value) allowed.
    Memory, CpuQuota, CapAdd and DeviceRequests go with the shape; Mounts by themselves."""
    pids = policy["pidsLimit"]
    network = policy["network"]
    return {
        "networkmode": lambda value: value == network,
        "memory": lambda value: True,
        "memoryreservation": lambda value: True,
        "cpuquota": lambda value: True,
        "capadd": lambda value: True,
        "capdrop": lambda value: True,
        "devicerequests": lambda value: True,
        "mounts": lambda value: True,
        # No swap beyond the memory limit (-1 would be unlimited swap).
        "memoryswap": lambda value: is_default(value) or (is_int(value) and value > 0),
        "cpuperiod": lambda value: _exactly(value, CPU_PERIOD),
        "pidslimit": lambda value: _exactly(value, pids) if pids else is_default(value),
        "readonlyrootfs": lambda value: bool(value) == policy["readOnlyRootfs"] and _bool(value),
        "tmpfs": lambda value: (value or {}) == policy["tmpfs"],
        "securityopt": lambda value: (
            isinstance(value, list)
            and bool(set(map(str, value)) & NO_NEW_PRIVILEGES)
            and set(map(str, value)) <= NO_NEW_PRIVILEGES
        ),
        "autoremove": _bool,
        "binds": _empty,
        "links": _empty,
        "restartpolicy": _restart,
        **{mode: lambda value: value in (None, "", "private") for mode in NAMESPACE_MODES},
    }


def _host_problems(policy: PolicyDocument, host: dict[str, Any]) -> list[str]:
    allowed = _host_values(policy)
    problems = []
    # Absent is read as null: where the stack sets a value (PIDs, a read-only root), its
    # absence is refused as any other value would be.
    for key, value in sorted({**dict.fromkeys(allowed), **host}.items()):
        if key not in allowed:
            # Privileged, PortBindings, Devices, VolumesFrom, Sysctls, CgroupParent, Runtime,
            # LogConfig, OomScoreAdj, ShmSize, CpuShares, MaskedPaths (even empty: it unmasks
            # /proc)... land here.
            problems.append(f"HostConfig.{key} is refused")
        elif not allowed[key](value):
            problems.append(f"HostConfig.{key} {value!r} is refused")
    memory, swap = host.get("memory"), host.get("memoryswap")
    if isinstance(swap, int) and swap > 0 and swap != memory:
        problems.append(f"HostConfig.memoryswap {swap!r}: only the memory limit itself (no swap)")
    return problems


def _mount_problems(policy: PolicyDocument, server: ServerName | str, mounts: Any) -> list[str]:
    """Exactly one mount per target: the home at its target, every shared folder at its own."""
    if not isinstance(mounts, list):
        return ["HostConfig.Mounts must list the home and the shared folders"]
    shared = {folder["target"]: folder for folder in policy["shared"]}
    wanted = {policy["homeTarget"], *shared}
    seen: list[Any] = []
    problems = []
    for raw in mounts:
        mount = lowered(raw)
        target = mount.get("target")
        seen.append(target)
        extra = sorted(set(mount) - _MOUNT_KEYS)
        if not isinstance(raw, dict) or extra:
            problems.append(f"mount at {target!r}: {extra or 'not an object'} refused")
            continue
        if not isinstance(target, str):
            problems.append(f"mount target {target!r} is not a path")
            continue
        # Defence in depth: the program refuses these at preview (hub/system_paths.py), and a
        # settings file that asks for them anyway gets no such mount here.
        hidden = image_path_problem(target)
        if hidden is not None:
            problems.append(f"mount at {target!r}: {hidden}")
            continue
        if mount.get("consistency") not in (None, "", "default"):
            problems.append(f"mount at {target!r}: consistency {mount['consistency']!r} is refused")
        if not _bool(mount.get("readonly")):
            problems.append(f"mount at {target!r}: ReadOnly is not a boolean")
        if target == policy["homeTarget"]:
            problems += _home_mount_problems(policy, server, mount)
        elif target in shared:
            folder = shared[target]
            if mount.get("type") != folder["type"] or mount.get("source") != folder["source"]:
                problems.append(
                    f"mount at {target!r}: only the shared folder {folder['type']} {folder['source']!r}"
                )
            elif folder["type"] == "bind":
                host = host_path_problem(folder["source"], policy["engineSocket"])
                if host is not None:
                    problems.append(f"mount at {target!r}: the host directory {folder['source']!r} {host}")
            if mount.get("volumeoptions") is not None:
                problems.append(f"mount at {target!r}: VolumeOptions are refused for a shared folder")
            if folder["readOnly"] and mount.get("readonly") is not True:
                problems.append(f"mount at {target!r}: read-only for everyone, so ReadOnly must be true")
        else:
            problems.append(f"mount at {target!r}: only the home and the shared folders {sorted(wanted)}")
    if sorted(map(str, seen)) != sorted(wanted) and not problems:
        problems.append(f"mounts at {seen!r}: exactly the home and the shared folders {sorted(wanted)}")
    return problems


def _home_mount_problems(
    policy: PolicyDocument, server: ServerName | str, mount: dict[str, Any]
) -> list[str]:
    problems = []
    if mount.get("type") != "volume":
        problems.append(f"the home is a volume, not a {mount.get('type')!r} mount")
    problems += home_problems(policy, server, mount.get("source"))
    options = lowered(mount.get("volumeoptions"))
    # A `local` volume with o=bind is a bind mount of the host by another name: no DriverConfig,
    # even empty; and the labels a new home is created with are the homes' own.
    if set(options) - _VOLUME_OPTION_KEYS:
        problems.append(f"home volume options {sorted(set(options) - _VOLUME_OPTION_KEYS)} are refused")
    if options.get("labels") != policy["volumeLabels"]:
        problems.append(f"home volume labels {options.get('labels')!r} are not the homes' labels")
    if not _bool(options.get("nocopy")):
        problems.append("home volume NoCopy is not a boolean")
    return problems
