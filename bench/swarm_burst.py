"""The burst's `swarm` mode: the same N people logging in at once, on a stack whose servers are
Swarm services on the test swarm (tests/peers/swarm: three nested engines, node1 the manager),
deployed with the e2e test's config (tests/peers/swarm/stack.py).

What a swarm lets the benchmark read, and how:
- latency: the same `login_until_ready`, through the stack's TLS edge on node1 (self-signed for
  a test domain: the client trusts the stack's CA and resolves the domain to node1's address);
- servers per node: the manager's task list of the stack's user services;
- create spread: the manager's `service create` events (a server is a service, not a container);
- idle MiB per server: each node's engine, for the task containers `<service>.1.<task id>`;
- CPU per spawn: the cgroups of the hub, the proxy and the task containers, read through each
  node's engine. The engines' own CPU is not: the three nested dockerd/containerd run on the
  host next to the host's own, under the same names, so "-" is printed for it and for the total.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors

from bench.bench import PASSWORD, memory_mib, throwaway_stack
from bench.burst import (
    SETTLE_SECONDS,
    Result,
    Target,
    container_cpu,
    log,
    login_until_ready,
    spread,
    stack_target,
    user_names,
    watching_creates,
)
from tests.e2e.conftest import TEST_IMAGES, free_port
from tests.e2e.names import resolve
from tests.peers.swarm import peer as swarm_peer
from tests.peers.swarm.stack import DOMAIN, swarm_config

STACK_LABEL = "org.jupyterhub-docker.stack"
CONTAINER_GROUPS = ("hub", "proxy", "users")  # what the nodes' engines account; not the engines


def _running_on(node: swarm_peer.Node) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["Id"] for c in node.client.api.containers() if c.get("Names")}


def cpu_snapshot(swarm: swarm_peer.Swarm, target: Target) -> dict[tuple[str, str], tuple[str, float]]:
    """(node, container id) -> (group, CPU-seconds) of the hub, the proxy and the user tasks."""
    found: dict[tuple[str, str], tuple[str, float]] = {}
    for node in swarm.nodes:
        for name, cid in _running_on(node).items():
            group = {target.hub: "hub", target.proxy: "proxy"}.get(name, "")
            if not group and name.startswith(target.user_prefix):
                group = "users"
            if group:
                try:
                    found[(node.hostname, cid)] = (group, container_cpu(node.client.containers.get(cid)))
                except (OSError, docker.errors.NotFound):
                    continue
    return found


def servers_per_node(swarm: swarm_peer.Swarm, stack: str, prefix: str) -> Counter[str]:
    """Node hostname -> running user servers there, from the manager's task list."""
    placed: Counter[str] = Counter()
    for service in swarm.manager.services.list(filters={"label": f"{STACK_LABEL}={stack}"}):
        if service.name.startswith(prefix):
            for task in service.tasks(filters={"desired-state": "running"}):
                if task["Status"]["State"] == "running":
                    placed[swarm.node_by_id(task["NodeID"]).hostname] += 1
    return placed


def burst(
    swarm: swarm_peer.Swarm,
    stack: str,
    target: Target,
    ca_file: Path,
    result: Result,
    deployed_in: float,
    log_dir: Path | None,
) -> None:
    names = user_names(result.users)
    gate = threading.Barrier(len(names))
    before = cpu_snapshot(swarm, target)
    with (
        resolve({DOMAIN: swarm.nodes[0].address}),
        watching_creates(swarm.manager, target.user_prefix, kind="service") as creates,
        ThreadPoolExecutor(max_workers=len(names)) as pool,
    ):
        result.latencies = list(
            pool.map(lambda n: login_until_ready(target.url, n, PASSWORD, gate, ca_file=ca_file), names)
        )
    after = cpu_snapshot(swarm, target)
    used = dict.fromkeys(CONTAINER_GROUPS, 0.0)
    for key, (group, seconds) in after.items():
        used[group] += seconds - before.get(key, (group, 0.0))[1]
    result.cpu = {group: seconds / len(names) for group, seconds in used.items()}
    result.create_spread = spread(creates)
    placed = servers_per_node(swarm, stack, target.user_prefix)
    log(f"swarm: all {len(names)} ready, max {max(result.latencies):.1f} s; servers per node {dict(placed)}")
    if log_dir is not None:  # --logs: the hub runs as a container on the manager
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "swarm-hub.log").write_bytes(
            swarm.manager.containers.get(target.hub).logs(timestamps=True)
        )
    time.sleep(SETTLE_SECONDS)
    servers = [
        (node, name)
        for node in swarm.nodes
        for name in _running_on(node)
        if name.startswith(target.user_prefix)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        result.idle_mib = statistics.median(pool.map(lambda s: memory_mib(s[0].client, s[1]), servers))
    per_node = ", ".join(f"{host} {placed[host]}" for host in sorted(n.hostname for n in swarm.nodes))
    result.note = (
        f"3 nested nodes on this machine; servers per node: {per_node}; swarm ready "
        f"{swarm.setup_seconds:.0f} s, stack up {deployed_in:.0f} s; CPU of the hub, proxy and user "
        "tasks from their cgroups on each node, the nested engines' CPU not separable from the "
        "host's (-)"
    )


def run_swarm(
    engine: docker.DockerClient,
    workdir: Path,
    users: int,
    log_dir: Path | None,
    hub_extra: dict[str, Any],
) -> Result:
    result = Result("swarm", users)
    images = [TEST_IMAGES["base"], TEST_IMAGES["proxy"], TEST_IMAGES["edge"], TEST_IMAGES["registry"]]
    log("swarm: starting three nested nodes")
    with swarm_peer.swarm(engine, images, registry_port=(registry_port := free_port())) as swarm:
        log(f"swarm: ready in {swarm.setup_seconds:.0f} s")
        config = swarm_config(swarm, swarm.nodes[0], registry_port, PASSWORD)
        extra = {**config["extra"], **hub_extra}
        # Room for all N at once, as in the other modes: the burst measures waiting, not refusals.
        extra["spawner"] = {**extra["spawner"], "concurrentSpawnLimit": users, "activeServerLimit": users}
        spec, deployer = throwaway_stack(workdir, extra=extra, secret_config=config["secret_config"])
        try:
            log(f"swarm: deploying {spec.name}")
            began = time.monotonic()
            outputs = deployer.up(spec)
            deployed_in = time.monotonic() - began
            ca_file = workdir / f"{spec.name}-ca.pem"
            ca_file.write_text(outputs["caCertificate"])
            burst(
                swarm,
                spec.name,
                stack_target(spec.name, outputs["url"]),
                ca_file,
                result,
                deployed_in,
                log_dir,
            )
        finally:
            deployer.destroy(spec)
    return result
