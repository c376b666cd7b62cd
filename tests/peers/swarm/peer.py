"""A three-node Docker Swarm on this machine: three nested engines joined into one swarm.

Each node is a container of the docker-host peer's image (tests/peers/dockerhost), run with the
capabilities ENVIRONMENT.md documents for an engine in a container and a volume at
/var/lib/docker (overlay2). The engines also serve tcp://<address>:2376 with client TLS, so the
tests drive them with docker-py, the client SwarmSpawner uses, rather than by parsing CLI output.
All three sit on one bridge network of the host; Swarm's control plane (2377), gossip (7946) and
VXLAN data plane (4789/udp) run between their addresses on it. Usage::

    with swarm(engine, ["local/python:3.11-bookworm"]) as cluster:
        cluster.manager.services.create(...)

Everything on the host (containers, volumes, network) is labelled as this run's, so
tests/janitor.py removes it if the run is killed; the swarm's own state lives in the volumes.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import docker.tls
from docker.models.containers import Container

from tests.janitor import RUN, RUN_LABEL, RUN_LABELS
from tests.peers import common
from tests.peers.dockerhost import peer as dockerhost

KIND = "swarm-node"  # value of common.LABEL on the nodes, their volumes and their network
NODES = 3
API_VERSION = "1.41"
ENGINE_TIMEOUT = 90.0  # seconds for a nested engine to answer (the remote peer allows the same)
READY_TIMEOUT = 60.0  # seconds for the joined nodes to be Ready on the manager
LOAD_TIMEOUT = 300.0  # seconds to load the images into the three nodes (a busy 2-core machine)
# Overlay subnets come from this pool: outside the host engine's pool (10.213.0.0/16, set by
# scripts/test-env.sh), so an overlay can never shadow the bridge the nodes talk over.
ADDRESS_POOL = "10.199.0.0/16"
# Labels per node hostname, for placement tests (profiles on GPU nodes, issue 14).
DEFAULT_NODE_LABELS: Mapping[str, Mapping[str, str]] = {"node3": {"jhub.gpu": "true"}}


@dataclass
class Node:
    container_name: str  # on the host engine
    hostname: str  # the swarm node's hostname: node1, node2, node3
    volume: str  # the host volume at the node's /var/lib/docker
    address: str  # on the swarm's host network
    client: docker.DockerClient  # docker-py against the node's own engine (tcp + client TLS)
    tls: dockerhost.ClientTls  # the PEMs of that client: a stack's dockerTls for tcp://<address>:2376


@dataclass
class Swarm:
    name: str  # prefix of every host object of this swarm
    network: str  # the host bridge network the nodes share
    nodes: list[Node] = field(default_factory=list)
    setup_seconds: float = 0.0  # from the first container to 3 Ready nodes with images loaded

    @property
    def manager(self) -> docker.DockerClient:
        return self.nodes[0].client

    def node(self, hostname: str) -> Node:
        return next(n for n in self.nodes if n.hostname == hostname)

    def node_by_id(self, node_id: str) -> Node:
        hostname = self.manager.nodes.get(node_id).attrs["Description"]["Hostname"]
        return self.node(hostname)


def _run_node(name: str, hostname: str, network: str, volume: str) -> None:
    # The CLI, not the API: `systempaths=unconfined` is a CLI option (see dockerhost.start).
    started = subprocess.run(
        [
            # --init: an engine as PID 1 reaps no orphans (tests/peers/dockerhost/peer.py).
            "docker", "run", "-d", "--init", "--name", name, "--hostname", hostname, "--network", network,
            "--label", f"{common.LABEL}={KIND}", "--label", f"{RUN_LABEL}={RUN}",
            "--cap-add=ALL", "--cap-drop=SYS_RESOURCE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns", "host",
            "-v", f"{volume}:/var/lib/docker",
            # The entrypoint waits for the certificates, then serves the engine on tcp://:2376 too.
            "-e", "DOCKER_TLS_WAIT=1", dockerhost.IMAGE,
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if started.returncode != 0:
        raise common.PeerError(f"starting {name} failed: {started.stderr}")


def _tls_client(address: str, tls: dockerhost.ClientTls, directory: Path) -> docker.DockerClient:
    """docker-py reads the client certificate from files; they live as long as the swarm."""
    directory.mkdir(parents=True, exist_ok=True)
    for filename, text in (("ca.pem", tls.ca), ("cert.pem", tls.cert), ("key.pem", tls.key)):
        (directory / filename).write_text(text)
    config = docker.tls.TLSConfig(
        client_cert=(str(directory / "cert.pem"), str(directory / "key.pem")),
        ca_cert=str(directory / "ca.pem"),
        verify=True,
    )
    # A fixed API version: docker-py would ask the engine for it here, before the engine is up.
    # 1.41 is Debian bookworm's engine (20.10), the one the nodes run.
    client = docker.DockerClient(
        base_url=f"tcp://{address}:2376", tls=config, version=API_VERSION, timeout=60
    )
    # requests lets REQUESTS_CA_BUNDLE (set on these machines, for the egress CA) replace the
    # session's CA file on every request; and no proxy stands between us and the node.
    client.api.trust_env = False
    return client


def _wait_for_engine(host: docker.DockerClient, node: Node) -> None:
    deadline = time.monotonic() + ENGINE_TIMEOUT
    while True:
        container = host.containers.get(node.container_name)
        if container.status not in ("created", "running"):
            raise common.PeerError(f"{node.container_name} stopped: {container.logs(tail=30).decode()}")
        with contextlib.suppress(Exception):  # not listening yet
            if node.client.ping():
                return
        if time.monotonic() > deadline:
            raise common.PeerError(f"the engine in {node.container_name} did not answer on :2376")
        time.sleep(0.3)


def _load_images(nodes: Sequence[Node], images: Sequence[str], scratch: Path) -> None:
    """`docker save` once, then `docker load` into every node at the same time (the remote tests'
    way, but one save for three loads: saving is a third of the cost)."""
    archive = scratch / "images.tar"
    subprocess.run(["docker", "save", "-o", str(archive), *images], check=True, capture_output=True)

    def load(node: Node) -> None:
        with archive.open("rb") as stream:
            loaded = subprocess.run(
                ["docker", "exec", "-i", node.container_name, "docker", "load"],
                stdin=stream,
                capture_output=True,
                timeout=LOAD_TIMEOUT,
            )
        if loaded.returncode != 0:
            raise common.PeerError(f"loading images into {node.hostname}: {loaded.stderr.decode()}")

    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(load, nodes))
    archive.unlink()


def _form_swarm(cluster: Swarm, node_labels: Mapping[str, Mapping[str, str]]) -> None:
    first, *workers = cluster.nodes
    cluster.manager.swarm.init(advertise_addr=first.address, default_addr_pool=[ADDRESS_POOL], subnet_size=24)
    token = cluster.manager.swarm.attrs["JoinTokens"]["Worker"]
    for worker in workers:
        worker.client.swarm.join(
            remote_addrs=[f"{first.address}:2377"], join_token=token, advertise_addr=worker.address
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        ready = [n for n in cluster.manager.nodes.list() if n.attrs["Status"]["State"] == "ready"]
        if len(ready) == len(cluster.nodes):
            break
        if time.monotonic() > deadline:
            raise common.PeerError(f"only {len(ready)} of {len(cluster.nodes)} swarm nodes Ready")
        time.sleep(0.3)
    for swarm_node in ready:
        labels = node_labels.get(swarm_node.attrs["Description"]["Hostname"])
        if labels:
            spec = dict(swarm_node.attrs["Spec"])
            spec["Labels"] = {**spec.get("Labels", {}), **labels}
            swarm_node.update(spec)


def _trust_registry(container: Container, registry: str) -> None:
    """What a person does on each node for a plain-HTTP registry on their LAN (Docker's
    "insecure registry" setting), before the node's engine starts (it waits for its
    certificates, placed after this)."""
    document = json.dumps({"insecure-registries": [registry]}).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("etc/docker/daemon.json")
        info.size, info.mode = len(document), 0o644
        tar.addfile(info, io.BytesIO(document))
    container.exec_run(["mkdir", "-p", "/etc/docker"])
    container.put_archive("/", archive.getvalue())


def start(
    host: docker.DockerClient,
    images: Sequence[str],
    *,
    name: str | None = None,
    node_labels: Mapping[str, Mapping[str, str]] = DEFAULT_NODE_LABELS,
    scratch: Path,
    registry_port: int | None = None,
) -> Swarm:
    """Start a three-node swarm named `name` (leftovers of that name are removed first), node1
    the manager, node2 and node3 workers, `images` loaded on every node, `node_labels` set.
    `scratch` holds the client certificates while the swarm lives. With `registry_port`, every
    node's engine trusts a plain-HTTP registry at <node1's address>:<registry_port>."""
    name = name or f"peer-swarm-{secrets.token_hex(3)}"
    stop(host, name)
    began = time.monotonic()
    dockerhost.build_image(host)  # a no-op when the remote tests' image is current
    network = common.create_network(host, name, kind=KIND)
    cluster = Swarm(name=name, network=network.name)
    try:
        for index in range(1, NODES + 1):
            container_name, volume = f"{name}-node{index}", f"{name}-node{index}-docker"
            host.volumes.create(volume, labels={common.LABEL: KIND, **RUN_LABELS})
            _run_node(container_name, f"node{index}", network.name, volume)
        manager_address = host.containers.get(f"{name}-node1").attrs["NetworkSettings"]["Networks"][
            network.name
        ]["IPAddress"]
        for index in range(1, NODES + 1):
            container = host.containers.get(f"{name}-node{index}")
            address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
            if registry_port is not None:
                _trust_registry(container, f"{manager_address}:{registry_port}")
            # The remote peer's own CA and certificates, for this node's address (reused as is).
            tls = dockerhost._place_engine_certificates(container, address)
            client = _tls_client(address, tls, scratch / name / f"node{index}")
            cluster.nodes.append(
                Node(container.name, f"node{index}", f"{container.name}-docker", address, client, tls)
            )
        for node in cluster.nodes:
            _wait_for_engine(host, node)
        # Loading takes most of the setup; forming the swarm meanwhile is cheap.
        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(_load_images, cluster.nodes, images, scratch / name) if images else None
            _form_swarm(cluster, node_labels)
            if loading is not None:
                loading.result()
    except BaseException:
        stop(host, name)
        raise
    cluster.setup_seconds = time.monotonic() - began
    return cluster


def stop(host: docker.DockerClient, name: str) -> None:
    """Remove the swarm's nodes (the swarm dies with them), their volumes and the network; only
    objects labelled as swarm nodes are touched."""
    kind = {"label": f"{common.LABEL}={KIND}"}
    for container in host.containers.list(all=True, filters=kind):
        if container.name.startswith(f"{name}-node"):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
    for volume in host.volumes.list(filters=kind):
        if volume.name.startswith(f"{name}-node"):
            with contextlib.suppress(docker.errors.NotFound):
                volume.remove(force=True)
    for network in host.networks.list(names=[name], filters=kind):
        if network.name == name:
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()


@contextlib.contextmanager
def swarm(
    host: docker.DockerClient,
    images: Sequence[str],
    *,
    name: str | None = None,
    node_labels: Mapping[str, Mapping[str, str]] = DEFAULT_NODE_LABELS,
    registry_port: int | None = None,
) -> Iterator[Swarm]:
    """start(), yield the swarm, stop() on the way out (also on failure)."""
    with tempfile.TemporaryDirectory(prefix="swarm-tls-") as scratch:
        cluster = start(
            host,
            images,
            name=name,
            node_labels=node_labels,
            scratch=Path(scratch),
            registry_port=registry_port,
        )
        try:
            yield cluster
        finally:
            for node in cluster.nodes:
                node.client.close()
            stop(host, cluster.name)
