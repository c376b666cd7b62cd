"""Least privilege for users' containers: what DockerSpawner adds to every container it creates.

Every server runs with no capabilities and `no-new-privileges` (a setuid binary in the image
cannot raise its privileges), a PIDs limit, and optionally a read-only root filesystem. No
Docker socket is ever mounted: a server's mounts are its home and the shared folders
(hub/apply.py). Images that start as root and switch to the user themselves (docker-stacks'
start.sh with NB_UID, NB_USER or CHOWN_HOME) are an opt-in: root, with the capabilities that
switch needs and nothing else.
"""

from __future__ import annotations

from typing import Any

from hub.contract import GpuSettings, SpawnerSettings, memory_bytes

# What docker-stacks' start.sh does as root before it drops to the user
# (images/docker-stacks-foundation/start.sh): usermod/useradd and `cp -a` of the home
# (CHOWN, DAC_OVERRIDE, FOWNER), `chown` of the home and CHOWN_EXTRA (CHOWN), and
# `exec sudo --user $NB_USER` (SETUID, SETGID; AUDIT_WRITE for sudo's audit record, which
# Debian's sudo treats as fatal when the kernel refuses it).
ROOT_START_CAPABILITIES = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")
# The user's scratch space when the root filesystem is read-only; counted against the
# container's memory limit, so it needs no size of its own. Executables allowed: pip builds
# and some kernels run code from /tmp.
TMPFS_OPTIONS = "rw,nosuid,nodev"


def host_config(spawner: SpawnerSettings, starts_as_root: bool, mem_guarantee: str) -> dict[str, Any]:
    """docker-py `create_host_config` arguments, for DockerSpawner's `extra_host_config`.
    DockerSpawner sends no reservation of its own (it reads `mem_guarantee` only for Swarm
    services, swarmspawner.py `create_object`): the guarantee is the container's
    MemoryReservation, the cgroup's memory.low, which the kernel reclaims last."""
    config: dict[str, Any] = {
        "security_opt": ["no-new-privileges:true"],
        "cap_drop": ["ALL"],
        "mem_reservation": memory_bytes(mem_guarantee),
    }
    if starts_as_root:
        config["cap_add"] = list(ROOT_START_CAPABILITIES)
    if spawner["pidsLimit"]:
        config["pids_limit"] = spawner["pidsLimit"]
    if spawner["readOnlyRootFilesystem"]:
        config["read_only"] = True
        config["tmpfs"] = {"/tmp": TMPFS_OPTIONS}
    return config


def create_kwargs(labels: dict[str, str], starts_as_root: bool) -> dict[str, Any]:
    """docker-py `create_container` arguments, for DockerSpawner's `extra_create_kwargs`:
    the stack's labels, and user 0 for an image that switches user itself (otherwise the
    image's own USER)."""
    kwargs: dict[str, Any] = {"labels": labels}
    if starts_as_root:
        kwargs["user"] = "0"
    return kwargs


def device_requests(gpus: GpuSettings) -> list[dict[str, Any]]:
    """The engine API's DeviceRequest, as `docker run --gpus` sends it (docker/cli opts/gpus.go:
    no driver, so the engine picks the one offering the "gpu" capability, which the NVIDIA
    Container Toolkit registers; Count -1 for all GPUs, or the listed DeviceIDs)."""
    request: dict[str, Any] = {"Driver": "", "Capabilities": [["gpu"]], "Options": {}}
    if gpus["deviceIds"]:
        request.update(Count=0, DeviceIDs=list(gpus["deviceIds"]))
    else:
        request.update(Count=gpus["count"], DeviceIDs=[])
    return [request]
