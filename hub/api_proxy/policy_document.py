"""What the Docker API proxy enforces, as plain data derived from the hub's own settings.

The program renders it (components/deployment.py) from the same settings document the hub
reads, so the proxy and the hub cannot disagree about images, limits, mounts or names. It says
values, not only fields: each `ServerShape` is one way a user server may run (the spawner's
defaults, or one profile), and a create must match one shape whole (image, memory and CPU
limits, user, added capabilities, GPUs); the mounts must be exactly the home and the shared
folders at their targets.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from hub.contract import Settings, memory_bytes
from hub.hardening import ROOT_START_CAPABILITIES, TMPFS_OPTIONS, device_requests

POLICY_FILE = "/etc/jhub/docker-api-policy.json"
PORT = 2375
# DockerSpawner's CPU period: a limit of N CPUs is a quota of N * CPU_PERIOD microseconds
# (dockerspawner.py `create_object`); a Swarm service's is N * 1e9 NanoCPUs (swarmspawner.py).
CPU_PERIOD = 100_000
NANO_CPUS = 1_000_000_000


class ServerShape(TypedDict):
    """One way a user server may run: the images it may use and what it runs with."""

    images: list[str]
    # HostConfig.Memory, and a service's Resources.Limits.MemoryBytes.
    memory: int
    # HostConfig.MemoryReservation, and a service's Resources.Reservations.MemoryBytes: the
    # guarantee.
    memoryReservation: int
    # HostConfig.CpuQuota over CPU_PERIOD, and a service's Resources.Limits.NanoCPUs.
    cpuQuota: int
    nanoCpus: int
    # "" (the image's own USER) or "0" (an image that starts as root and switches user itself).
    user: str
    # Added back after dropping ALL: none, or the start-as-root set.
    capabilities: list[str]
    deviceRequests: list[dict[str, Any]]


class SharedMount(TypedDict):
    type: Literal["volume", "bind"]
    source: str
    target: str
    # Nobody may write (no writers at all): every server mounts it read-only.
    readOnly: bool


class PolicyDocument(TypedDict):
    # The labels every user server carries (project, stack, role=user-server).
    labels: dict[str, str]
    network: str
    containerPrefix: str
    volumePrefix: str
    # Every notebook image of the stack: what may be inspected and pulled.
    images: list[str]
    servers: list[ServerShape]
    # Where the home is mounted, and every shared folder (at most one mount per target).
    homeTarget: str
    shared: list[SharedMount]
    # The engine's socket on the Docker host: no bind may be it or hold it, whatever `shared`
    # says (hub/system_paths.py).
    engineSocket: str
    # 0: no PIDs limit is sent.
    pidsLimit: int
    readOnlyRootfs: bool
    # HostConfig.Tmpfs exactly (a writable /tmp beside a read-only root), or {}.
    tmpfs: dict[str, str]
    registry: str | None
    # "swarm": users' servers are services (hub/api_proxy/service_policy.py); "docker": every service
    # route is refused.
    orchestrator: str
    # Every profile's Swarm placement constraints: a service runs under one of them (plus its
    # home's node).
    placements: list[list[str]]
    # The labels of a user's home volume: sent with its mount, and carried by an existing one.
    volumeLabels: dict[str, str]


def _shape(
    images: list[str], mem_limit: str, mem_guarantee: str, cpu_limit: float, root: bool, gpus: Any
) -> ServerShape:
    return {
        "images": sorted(set(images)),
        "memory": memory_bytes(mem_limit),
        "memoryReservation": memory_bytes(mem_guarantee),
        "cpuQuota": int(cpu_limit * CPU_PERIOD),
        "nanoCpus": int(cpu_limit * NANO_CPUS),
        "user": "0" if root else "",
        "capabilities": sorted(ROOT_START_CAPABILITIES) if root else [],
        "deviceRequests": device_requests(gpus) if gpus is not None else [],
    }


def server_shapes(settings: Settings) -> list[ServerShape]:
    """With profiles, one shape each (hub/spawners/profiles.py applies one at every start, the default
    one when none is named); without, the spawner's own settings with any of its images."""
    spawner = settings["spawner"]
    images = spawner["images"]
    profiles = settings.get("profiles", [])
    if profiles:
        return [
            _shape(
                [images[p["image"]]],
                p["memLimit"],
                p["memGuarantee"],
                p["cpuLimit"],
                p["startsAsRoot"],
                p["gpus"],
            )
            for p in profiles
        ]
    every = sorted(set(images.values()) | {spawner["image"]})
    return [
        _shape(
            every,
            spawner["memLimit"],
            spawner["memGuarantee"],
            spawner["cpuLimit"],
            spawner["startsAsRoot"],
            None,
        )
    ]


def _read_only_for_everyone(writers: dict[str, Any]) -> bool:
    return not (writers["everyone"] or writers["admins"] or writers["groups"])


def policy_document(settings: Settings) -> PolicyDocument:
    """What the API proxy enforces, derived from the settings the hub runs with."""
    spawner = settings["spawner"]
    profiles = settings.get("profiles", [])
    registry = settings["registry"]
    read_only = spawner["readOnlyRootFilesystem"]
    return {
        "labels": dict(spawner["labels"]),
        "network": spawner["network"],
        "containerPrefix": spawner["containerPrefix"],
        "volumePrefix": spawner["volumePrefix"],
        "images": sorted(set(spawner["images"].values()) | {spawner["image"]}),
        "servers": server_shapes(settings),
        "homeTarget": spawner["homeDir"],
        "shared": [
            {
                "type": f["type"],
                "source": f["source"],
                "target": f["target"],
                "readOnly": _read_only_for_everyone(dict(f["writers"])),
            }
            for f in settings.get("shared", [])
        ],
        "engineSocket": spawner["engineSocket"],
        "pidsLimit": spawner["pidsLimit"],
        "readOnlyRootfs": read_only,
        "tmpfs": {"/tmp": TMPFS_OPTIONS} if read_only else {},
        "registry": None if registry is None else registry["server"],
        "orchestrator": spawner["orchestrator"],
        "placements": [list(p["placement"]) for p in profiles],
        "volumeLabels": dict(spawner["volumeLabels"]),
    }
