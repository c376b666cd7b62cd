"""What a test run leaves on the Docker engine when it is killed, removed by the next run.

A run killed midway (a CI time limit, a session ending, Ctrl-C twice) never reaches its teardown:
its stacks' containers, networks and volumes stay on the engine, and `/var/lib/docker` may outlive
the machine's processes. Networks are the scarce part: Docker's default address pools hold about
30 bridge networks, so the leftovers of one killed run made the next run fail with "could not find
an available, non-overlapping IPv4 address pool" (seen in CI).

Every test run therefore marks what it creates with its identity (``RUN_LABEL``): the peers'
containers, networks and volumes directly, and each stack through a ledger entry, a tiny labelled
volume naming the prefix of the stack's Docker objects (the program names them, so they cannot
carry our label). Teardown removes the entry after a clean destroy. `sweep` removes everything of
runs whose process is gone, and nothing of a run still going (a second run on the same engine).
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Any

import docker
import docker.errors

RUN_LABEL = "org.jupyterhub-docker.test-run"  # value: RUN, the identity of the run that made it
PREFIX_LABEL = "org.jupyterhub-docker.test-prefix"  # on a ledger entry: its objects' name prefix
LEDGER_PREFIX = "test-ledger-"  # not jhub-: no stack prefix can match an entry


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot), or None if there is no such
    process; with the pid it tells a live run from a dead one whose pid was reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) is in parentheses and may hold spaces.
    return stat.rsplit(")", 1)[1].split()[19]


RUN = f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"
RUN_LABELS = {RUN_LABEL: RUN}


def run_is_alive(run: str) -> bool:
    """True if `run` is a process still running on this machine.

    A run recorded by another hostname counts as gone: the engine is reached over this machine's
    socket, so a run on another machine cannot be using it (a container sharing the socket is
    the exception this accepts)."""
    host, _, rest = run.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _process_start(int(pid)) == started


def _ledger_name(prefix: str) -> str:
    return LEDGER_PREFIX + prefix.strip("-")


# The prefixes this run entered, whose images and ledger entries go at its end (`finish`).
_ENTERED: list[str] = []


def enter(client: docker.DockerClient, prefix: str) -> None:
    """Record that this run is about to create Docker objects named `prefix`..."""
    client.volumes.create(_ledger_name(prefix), labels={**RUN_LABELS, PREFIX_LABEL: prefix})
    if prefix not in _ENTERED:
        _ENTERED.append(prefix)


def leave(client: docker.DockerClient, prefix: str) -> None:
    """The objects named `prefix`... were destroyed. Their images stay until the run's end
    (`finish`): every stack of a run builds the same images under its own names, and a build
    whose layers are still on the engine takes a fraction of a second, where one after the last
    such image was removed takes a minute. The ledger entry stays as long, so a run killed
    later still has them removed by the next one."""


def finish(client: docker.DockerClient, prefixes: list[str] | None = None) -> list[str]:
    """At the run's end: remove the images of every stack it entered (`pulumi destroy` leaves
    them: pulumi-docker's Image Delete does nothing, tests/harness/MODEL.md; a machine running
    the suite daily would collect hundreds) and forget them."""
    removed: list[str] = []
    for prefix in list(_ENTERED if prefixes is None else prefixes):
        removed += _remove_images(client, prefix)
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(_ledger_name(prefix)).remove(force=True)
        if prefix in _ENTERED:
            _ENTERED.remove(prefix)
    return removed


def listed_containers(client: docker.DockerClient, **filters: str) -> list[tuple[str, dict[str, str], Any]]:
    """(name, labels, container) of every container, from the list call alone.

    docker-py's plain `containers.list` inspects each listed container in turn, and one removed
    in between (by the run's other worker, destroying its stack) fails the whole list with a 404.
    A sparse list asks once; its objects still stop and remove by ID."""
    found = []
    for container in client.containers.list(all=True, sparse=True, filters=filters or None):
        names = container.attrs.get("Names") or [""]
        found.append((names[0].lstrip("/"), dict(container.attrs.get("Labels") or {}), container))
    return found


def _remove_prefixed(client: docker.DockerClient, prefix: str) -> list[str]:
    """Remove the containers, networks, volumes and image tags whose names start with `prefix`."""
    removed: list[str] = []
    for name, _, container in listed_containers(client):
        if name.startswith(prefix):
            with contextlib.suppress(docker.errors.NotFound):
                if name.endswith("-firewall"):
                    # SIGTERM first: the stack's firewall removes its iptables rules on the way
                    # out (a kill would leave them; the next firewall of that stack clears them).
                    container.stop(timeout=10)
                container.remove(force=True, v=True)
                removed.append(f"container {name}")
    for network in client.networks.list():
        if network.name.startswith(prefix):
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()
                removed.append(f"network {network.name}")
    for volume in client.volumes.list():
        if volume.name.startswith(prefix):
            with contextlib.suppress(docker.errors.NotFound):
                volume.remove(force=True)
                removed.append(f"volume {volume.name}")
    return removed + _remove_images(client, prefix)


def _remove_images(client: docker.DockerClient, prefix: str) -> list[str]:
    """Remove the image tags named `prefix`... (built), or <registry>/`prefix`... (pushed).

    From the list call alone, as `listed_containers`: docker-py's `images.list` inspects each
    listed image in turn, and one removed in between (by the other worker's cleanup) failed
    the whole list with a 404 at a run's end."""
    removed: list[str] = []
    for image in client.api.images():
        for tag in image.get("RepoTags") or []:
            name = tag.split("/", 1)[1] if "/" in tag and tag.split("/", 1)[0].count(":") else tag
            if name.startswith(prefix) or name.startswith(prefix.rstrip("-") + "/"):
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(tag, force=True)
                    removed.append(f"image {tag}")
    return removed


def sweep(client: docker.DockerClient) -> list[str]:
    """Remove what runs that are no longer alive left behind; returns what was removed."""
    label = {"label": RUN_LABEL}
    containers = listed_containers(client, **label)
    networks = client.networks.list(filters=label)
    volumes = client.volumes.list(filters=label)
    runs = {str((v.attrs.get("Labels") or {}).get(RUN_LABEL, "")) for v in volumes}
    runs |= {str(labels.get(RUN_LABEL, "")) for _, labels, _ in containers}
    runs |= {str((n.attrs.get("Labels") or {}).get(RUN_LABEL, "")) for n in networks}
    dead = {run for run in runs if run and not run_is_alive(run)}
    if not dead:
        return []
    removed: list[str] = []
    # Peers first: a peer attached to a stack's network blocks that network's removal.
    for name, labels, container in containers:
        if labels.get(RUN_LABEL) in dead:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
                removed.append(f"container {name}")
    ledger = [v for v in volumes if (v.attrs.get("Labels") or {}).get(RUN_LABEL) in dead]
    for entry in ledger:
        prefix = (entry.attrs.get("Labels") or {}).get(PREFIX_LABEL, "")
        if prefix:
            removed += _remove_prefixed(client, prefix)
    for network in networks:
        if (network.attrs.get("Labels") or {}).get(RUN_LABEL) in dead:
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()
                removed.append(f"network {network.name}")
    # The ledger entries, and the peers' own volumes (a nested engine's /var/lib/docker).
    for volume in volumes:
        if (volume.attrs.get("Labels") or {}).get(RUN_LABEL) not in dead:
            continue
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
            removed.append(f"volume {volume.name}")
    return removed
