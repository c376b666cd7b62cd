"""Users' servers as Docker Swarm services, spread over the swarm's nodes (orchestrator: swarm).

DockerSpawner 14.0's SwarmSpawner (dockerspawner/swarmspawner.py), with what a class on a swarm
needs and upstream lacks (docs/swarm.md has the evidence for each):

- **Homes stay on their node.** A home is a `local` volume, which exists on one node only. The
  first start places freely (within the profile's constraints); the node it ran on is kept in
  the spawner's state (the hub database) and every later start adds `node.id==<that node>`.
  If that node is drained or gone, the start fails with a message naming it: nothing moves,
  nothing is lost. Upstream mounts every volume as `type=bind`, which the node rejects for a
  named volume ("invalid bind mount source"); ours mounts volumes as volumes.
- **A crash is a stop.** Upstream sets no restart policy, so Swarm's `any` restarts a crashing
  server forever (dockerspawner #330); ours uses `none` and JupyterHub's poll notices.
- **Fail fast.** Upstream keeps waiting through `rejected`, and through `pending` on a node
  that is not there, until JupyterHub's start timeout; ours fails at once with the task's error.
- **"Service not found" right after creating it** (dockerspawner #343/#333, moby #37138): the
  inspect is retried for a few seconds after our own create instead of treating it as gone.
- **Hardening as far as a service spec goes** (API 1.41, Engine 20.10): capabilities dropped,
  the start-as-root set only where configured, a read-only root filesystem where configured.
  A service spec has no `no-new-privileges` and no PIDs limit field: docs/how-to/swarm.md says so.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from docker.errors import APIError
from docker.types import Mount, RestartPolicy
from dockerspawner import SwarmSpawner
from tornado import web

# Seconds an inspect answering 404 right after our own create is retried (moby #37138).
FRESH_SERVICE_SECONDS = 15.0
# Seconds a task may stay `pending` for want of a node before the start fails: long enough for
# the scheduler's first pass, short against a class waiting at their screens.
NO_NODE_SECONDS = 10.0
# How long a started server's service name may take to resolve to its task alone (the engine's
# DNS drops a stopped task's record within a second or two), and how often it is asked.
NAME_SETTLE_SECONDS = 10.0
NAME_POLL_SECONDS = 0.25
# Task states that end a start (moby api/types/swarm/task.go TaskState).
FAILED_STATES = {"rejected", "failed", "shutdown", "orphaned", "remove", "complete"}
WAITING_STATES = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}


def placement_constraints(profile_constraints: list[str], pinned_node: str) -> list[str]:
    """The service's placement: the profile's node constraints, plus the home's node once it has
    one."""
    constraints = list(profile_constraints)
    if pinned_node:
        constraints.append(f"node.id=={pinned_node}")
    return constraints


async def resolve_all(name: str) -> set[str]:
    """Every IPv4 address `name` resolves to (the engine's DNS on the overlay: one per running
    task of a dnsrr service), or none when it does not resolve. A name the engine's DNS does not
    know is forwarded to the host's resolvers, which may not answer soon: one second is enough for
    the engine's own answer."""
    lookup = asyncio.get_running_loop().getaddrinfo(name, None, family=socket.AF_INET)
    try:
        answers = await asyncio.wait_for(lookup, timeout=1.0)
    except (TimeoutError, OSError):
        return set()
    return {str(sockaddr[0]) for *_, sockaddr in answers}


def task_address(task: dict[str, Any], network: str) -> str:
    """A task's address on `network` (its NetworksAttachments: `10.0.1.5/24` -> `10.0.1.5`), or
    "" when the task says none."""
    for attachment in task.get("NetworksAttachments") or []:
        if ((attachment.get("Network") or {}).get("Spec") or {}).get("Name") == network:
            for address in attachment.get("Addresses") or []:
                return str(address).split("/", 1)[0]
    return ""


def as_mount(spec: dict[str, Any]) -> Mount:
    """A mount as hub/apply.py describes it, as a service's Mount: named volumes as volumes (with
    the home's labels, applied when the node creates it), host directories as binds."""
    return Mount(
        target=spec["target"],
        source=spec["source"],
        type=spec["type"],
        read_only=bool(spec.get("read_only", False)),
        labels=spec.get("labels") or None,
    )


class StackSwarmSpawner(SwarmSpawner):  # type: ignore[misc]  # dockerspawner has no type hints
    """SwarmSpawner with pinned homes, volume mounts, no restarts and fail-fast starts.

    The stack's hooks configure it as they configure DockerSpawner (hub/apply.py, hub/spawners/profiles.py:
    `mounts`, `extra_host_config`, `extra_create_kwargs`, `profile`); `_specs` translates that
    container hardening into the service spec at each start, so both orchestrators are hardened
    from one description."""

    profile: dict[str, Any] | None = None
    # The node this server's home lives on ("" until the first start has run somewhere).
    pinned_node: str = ""
    _created_at: float = 0.0
    # The running task's address on the users' overlay, once `start_object` has seen it run.
    _task_address: str = ""
    _stack_mounts: list[dict[str, Any]] = []

    # SwarmSpawner replaces DockerSpawner's `mounts` trait with a read-only property (all
    # binds); the stack's hook sets it, so it is a property with a setter here.
    @property
    def mounts(self) -> list[Mount]:
        # Sources and targets are templates ({username}, {servername}), filled in as
        # DockerSpawner's `mount_binds` does for containers.
        mounts = [
            as_mount(
                {
                    **spec,
                    "source": self.format_volume_name(spec["source"], self),
                    "target": self.format_volume_name(spec["target"], self),
                }
            )
            for spec in self._stack_mounts
        ]
        for target in self.extra_host_config.get("tmpfs", {}):
            mounts.append(Mount(target=target, source=None, type="tmpfs"))
        return mounts

    @mounts.setter
    def mounts(self, value: list[dict[str, Any]]) -> None:
        self._stack_mounts = list(value)

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.pinned_node = state.get("node_id", "")

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        if self.pinned_node:
            state["node_id"] = self.pinned_node
        return state

    def clear_state(self) -> None:
        """JupyterHub clears the state after every stop; the home's node outlives the server."""
        pinned = self.pinned_node
        super().clear_state()
        self.pinned_node = pinned

    def _specs(self) -> None:
        """The service spec's per-start parts, from the container hardening of this start."""
        host: dict[str, Any] = self.extra_host_config
        create: dict[str, Any] = self.extra_create_kwargs  # type: ignore[has-type]
        labels = dict(create.get("labels", {}))
        # The task's container carries the labels too: the API proxy, the firewall and the
        # cleanup find user servers by them.
        container: dict[str, Any] = {"labels": labels, "cap_drop": list(host.get("cap_drop", ["ALL"]))}
        for key in ("cap_add", "read_only"):
            if host.get(key):
                container[key] = host[key]
        if "user" in create:
            container["user"] = create["user"]
        self.extra_container_spec = container
        self.extra_task_spec = {"restart_policy": RestartPolicy(condition="none")}
        # The service's name resolves to its task's own address (DNS round robin), not to a
        # virtual IP: a VIP is load-balanced by IPVS in every container's namespace, which one
        # task per service does not need, and which some kernels lack (the nested test nodes:
        # the hub timed out connecting to every server's VIP, tests/e2e/test_swarm.py).
        self.extra_endpoint_spec = {"mode": "dnsrr"}
        profile = self.profile or {}
        constraints = placement_constraints(list(profile.get("placement", [])), self.pinned_node)
        self.extra_placement_spec = {"constraints": constraints}

    async def start(self) -> Any:
        self._specs()
        # create_service takes the service's own labels (and nothing else of the container's).
        create: dict[str, Any] = self.extra_create_kwargs  # type: ignore[has-type]
        self.extra_create_kwargs = {"labels": dict(create.get("labels", {}))}
        try:
            return await super().start()
        finally:
            self.extra_create_kwargs = create

    async def create_object(self) -> Any:
        self._created_at = time.monotonic()
        return await super().create_object()

    async def get_object(self) -> Any:
        """Upstream's, but a 404 right after our own create is the engine not knowing the
        service yet (moby #37138), not the service being gone."""
        while True:
            try:
                return await self.docker("inspect_service", self.object_name)
            except APIError as error:
                fresh = time.monotonic() - self._created_at < FRESH_SERVICE_SECONDS
                if error.response is not None and error.response.status_code == 404 and fresh:
                    await asyncio.sleep(0.5)
                    continue
                break
        return await super().get_object()

    async def poll(self) -> Any:
        """Upstream counts a `pending` task as running. One pending for want of a node (its home's
        node drained or gone) will not run until an admin acts: report it stopped, so the hub
        stops it and the user's next start says why, instead of a server that never answers."""
        task = await self.get_task()
        if task and task["Status"]["State"] == "pending":
            reason = task["Status"].get("Err") or ""
            if "no suitable node" in reason:
                return f"no swarm node can run it: {reason}"
        return await super().poll()

    async def start_object(self) -> None:
        """Wait for the task to run; fail at once when it cannot (rejected, failed, or no node
        to run on), with Swarm's reason and, for a pinned home, the node's name."""
        began, delay = time.monotonic(), 0.5
        while True:
            task = await self.get_task()
            if not task:
                raise RuntimeError(f"Service {self.service_name} not found")
            status = task["Status"]
            state = status["State"].lower()
            if state == "running":
                break
            reason = status.get("Err") or status.get("Message") or state
            if state in FAILED_STATES:
                raise web.HTTPError(500, f"Your server could not start on the swarm: {reason}")
            no_node = state == "pending" and "no suitable node" in reason
            if no_node and time.monotonic() - began > NO_NODE_SECONDS:
                raise web.HTTPError(503, await self._no_node_message(reason))
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 3.0)
        self._task_address = task_address(task, self.network_name)
        if not self.pinned_node:
            # The home volume now exists on this node, and only there.
            self.pinned_node = task["NodeID"]
            self.log.info("%s: home pinned to node %s", self.service_name, self.pinned_node)

    async def get_ip_and_port(self) -> tuple[str, int]:
        """The service's name, as upstream routes, once that name resolves to the running task's
        own address and nothing else.

        Two failures seen in tests/e2e/test_swarm.py decide this:
        - right after a quick stop and start, the engine's DNS can still answer the name with the
          stopped task's address, and the proxy sent the restarted server's first request there
          (a 503): so the name is returned only once it resolves to this task alone;
        - a task's address is not a route to keep: when its node is drained or lost, the proxy
          keeps the route until the hub's next poll, and a connection to an overlay address no
          task holds any more hangs (no one answers, nothing refuses) until the browser gives up,
          while a name without a running task fails at once and the person sees the hub's page.
        If the name has not settled after NAME_SETTLE_SECONDS, the task's address is used: a
        route that works now beats one that may not."""
        if not self._task_address:
            ip, port = await super().get_ip_and_port()
            return str(ip), int(port)
        deadline = time.monotonic() + NAME_SETTLE_SECONDS
        while True:
            answer = await resolve_all(self.service_name)
            if answer == {self._task_address}:
                return self.service_name, int(self.port)
            if time.monotonic() >= deadline:
                self.log.warning(
                    "%s: its name resolves to %s, not only to its task's %s; routing to the address",
                    self.service_name,
                    sorted(answer) or "nothing",
                    self._task_address,
                )
                return self._task_address, int(self.port)
            await asyncio.sleep(NAME_POLL_SECONDS)

    async def _no_node_message(self, reason: str) -> str:
        if self.pinned_node:
            return (
                f"Your home directory lives on swarm node {self.pinned_node}, which cannot run "
                f"servers now (drained, down or removed). An admin can make that node available "
                f"again, or move your home (docs/how-to/swarm.md). Swarm said: {reason}"
            )
        return f"No swarm node can run this server (profile placement). Swarm said: {reason}"
