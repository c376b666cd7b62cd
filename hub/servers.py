"""The hub's side of users' servers over a class's life: the idle culler and metrics services,
kernel culling, named servers, spawn throttling and profiles."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub.admission import admission
from hub.contract import Secrets, Settings, memory_bytes
from hub.spawners.profiles import allowed, apply_profiles, options_from_form, render_form

CULLER_CONFIG = str(Path(__file__).parent / "culler" / "culler_config.py")
# How often activity reaches the hub, at most: the servers' reports (JUPYTERHUB_ACTIVITY_INTERVAL,
# jupyterhub/singleuser/extension.py) and the hub's poll of the proxy's routes
# (JupyterHub.last_activity_interval); both default to 300 s, too coarse for a short timeout.
MAX_ACTIVITY_INTERVAL = 300
# Spawns the hub accepts at once when the stack does not say: per CPU of the Docker host, with
# a floor so a class of 30-50 logging in together is queued, not refused ("Too many users
# trying to log in"). How many of them boot at once is the boot queue's (hub/spawners/throughput.py).
SPAWNS_PER_CPU = 25
MIN_CONCURRENT_SPAWNS = 50
# Share of the host's memory the servers' limits may add up to.
MEMORY_SHARE = 0.9


def culler_command(culler: dict[str, Any]) -> list[str]:
    """jupyterhub-idle-culler 2.0's command line (its `IdleCuller.aliases`; a unit test checks
    every flag against the installed package)."""
    command = [
        sys.executable,
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={culler['timeout']}",
        f"--max-age={culler['maxAge']}",
        f"--cull-users={culler['cullUsers']}",
        f"--config={CULLER_CONFIG}",
    ]
    if culler["every"] is not None:
        command.append(f"--cull-every={culler['every']}")
    return command


def activity_interval(settings: Settings) -> int:
    culler = settings["culler"]
    if culler is None:
        return MAX_ACTIVITY_INTERVAL
    return max(5, min(MAX_ACTIVITY_INTERVAL, culler["timeout"] // 4))


def services(c: Config, settings: Settings, secrets: Secrets) -> None:
    """Hub services, each with a role that holds only the scopes it uses."""
    services: list[dict[str, Any]] = [{"name": "metrics", "api_token": secrets["metricsToken"]}]
    roles: list[dict[str, Any]] = [{"name": "metrics", "scopes": ["read:metrics"], "services": ["metrics"]}]
    # Read servers' state and start them (JupyterHub 6's `start:servers`), nothing else: the
    # prestart never stops or deletes a server (hub/prestart.py), so it has no `delete:servers`.
    services.append({"name": "prestart", "api_token": secrets["prestartToken"]})
    roles.append({"name": "prestart", "scopes": ["read:servers", "start:servers"], "services": ["prestart"]})
    culler = settings["culler"]
    if culler is not None:
        services.append(
            {
                "name": "idle-culler",
                "command": culler_command(dict(culler)),
                "environment": {"JHUB_PRESTART_GRACE": str(culler["prestartGrace"])},
            }
        )
        # jupyterhub-idle-culler's README: these scopes, and admin:users only to delete users.
        scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
        if culler["cullUsers"]:
            scopes.append("admin:users")
        roles.append({"name": "idle-culler", "scopes": scopes, "services": ["idle-culler"]})
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    interval = activity_interval(settings)
    c.JupyterHub.last_activity_interval = interval
    c.Spawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": str(interval)}


def kernel_culling(c: Config, settings: Settings) -> None:
    """Idle kernels shut down inside every server, connected or not (jupyter_server's
    MappingKernelManager.cull_*), passed as arguments so it holds for any image."""
    timeout = settings["spawner"]["kernelTimeout"]
    if timeout:
        c.Spawner.args = [
            f"--MappingKernelManager.cull_idle_timeout={timeout}",
            f"--MappingKernelManager.cull_interval={max(5, min(300, timeout // 2))}",
            "--MappingKernelManager.cull_connected=True",
        ]


def named_servers(c: Config, settings: Settings) -> None:
    limit = settings["namedServers"]["limit"]
    c.JupyterHub.allow_named_servers = limit > 0
    c.JupyterHub.named_server_limit_per_user = limit
    # JupyterHub 6 names new named servers with 1-30 of a-z, 0-9 and '-' (upgrading-v6). A server
    # named before that keeps its name and starts as before: its home volume carries the name
    # (home_volume), and "autorename" would start it on a new, empty home. Pinned here, not
    # left to the default, so a later default cannot rename anyone's server.
    c.JupyterHub.allow_existing_invalid_named_servers = "allow-start"


def home_volume(settings: Settings, server_name: str) -> str:
    """The home volume's name template: per person, and per named server unless sharedHome.
    DockerSpawner escapes {username} and {servername} with '-' as the escape character
    (dockerspawner.py `_escape`), so '--' never occurs inside either and cannot be forged."""
    spawner = settings["spawner"]
    if server_name and not settings["namedServers"]["sharedHome"]:
        return spawner["volumePrefix"] + "-{username}--{servername}"
    return spawner["volumePrefix"] + "-{username}"


# The stack's Docker API proxy (the hub's DOCKER_HOST, tcp://) is created at the same time as
# the hub and answers within a second or two of its start (`up` waits for neither:
# components/deployment.py): ask it until then, so that JupyterHub, which polls the servers it
# knows right after loading this configuration, finds the engine there. Any other engine is
# asked once.
ENGINE_INFO_SECONDS = 30


def _docker_host_resources() -> tuple[int, int] | None:
    """(CPUs, bytes of memory) of the Docker host, from the engine the hub spawns on."""
    import docker

    patience = ENGINE_INFO_SECONDS if os.environ.get("DOCKER_HOST", "").startswith("tcp://") else 0
    deadline = time.monotonic() + patience
    while True:
        try:
            info = docker.from_env(timeout=10).info()
            return int(info["NCPU"]), int(info["MemTotal"])
        except Exception as exc:  # the hub still starts; the limits fall back to JupyterHub's
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            print(
                f"reading the Docker host's resources failed ({exc}); spawn limits left at defaults",
                flush=True,
            )
            return None


def largest_guarantee(settings: Settings) -> int:
    """Bytes guaranteed to the largest kind of server: a profile's, or the spawner's."""
    sizes = [p["memGuarantee"] for p in settings.get("profiles", [])] or [settings["spawner"]["memGuarantee"]]
    return max(memory_bytes(size) for size in sizes)


def derived_active_limit(settings: Settings, memory: int) -> int:
    """As many servers as MEMORY_SHARE of the host's `memory` (bytes) holds at the largest
    guarantee: what servers are promised, not their cap (memLimit), which few reach at once."""
    return max(1, int(memory * MEMORY_SHARE) // largest_guarantee(settings))


def throttling(c: Config, settings: Settings, resources: tuple[int, int] | None) -> None:
    """concurrent_spawn_limit and active_server_limit: the stack's, or derived from the host
    (`resources`: its CPUs and bytes of memory)."""
    spawner = settings["spawner"]
    spawns = spawner["concurrentSpawnLimit"]
    active = spawner["activeServerLimit"]
    if resources is not None:
        cpus, memory = resources
        if spawns is None:
            spawns = max(MIN_CONCURRENT_SPAWNS, SPAWNS_PER_CPU * cpus)
        # On a swarm the engine the hub asks is the manager alone: its memory says nothing of
        # the nodes the servers run on, so the active limit is the stack's (none by default).
        if active is None and spawner["orchestrator"] != "swarm":
            active = derived_active_limit(settings, memory)
    if spawns is not None:
        c.JupyterHub.concurrent_spawn_limit = spawns
    if active is not None:
        c.JupyterHub.active_server_limit = active


def profiles(c: Config, settings: Settings) -> None:
    found = settings.get("profiles")
    if not found:
        return
    choices = list(found)
    c.Spawner.options_form = lambda spawner: render_form(allowed(choices, spawner.user))
    c.Spawner.options_from_form = options_from_form
    c.Spawner.apply_user_options = apply_profiles(choices, settings["spawner"])


def configure_servers(c: Config, settings: Settings, secrets: Secrets) -> None:
    services(c, settings, secrets)
    kernel_culling(c, settings)
    named_servers(c, settings)
    throttling(c, settings, _docker_host_resources())
    limit = c.JupyterHub.active_server_limit if "active_server_limit" in c.JupyterHub else None
    admission(c, settings, limit, largest_guarantee(settings))
    profiles(c, settings)
