"""Destroy on every node of a swarm (issue 14, docs/swarm.md "Destroy on every node"): the
UserServers cleanup script, run as pulumi-command runs it against the manager, removes the
stack's user-server services, their leftover containers and (unless keepData) their home
volumes on every node, through a `global` cleanup service it removes again; nothing else is
touched, and nothing of the stack is left, not even in the swarm's task store.

The servers here are services made as the StackSwarmSpawner makes them (labels on the service
and on its task's container, a `local` home volume created with its labels by the node the
task runs on), pinned to the two workers, which the program cannot reach but through Swarm.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import docker
import pytest
from docker.models.services import Service
from docker.types import Mount, RestartPolicy

from components.lifecycle import UserServersArgs, user_servers_environment, user_servers_script
from host_scripts import PYTHON
from plan.naming import LABEL_ROLE, LABEL_STACK, StackNames
from tests.e2e.conftest import TEST_IMAGES
from tests.e2e.polling import eventually
from tests.peers.swarm import peer as swarm_peer

BASE = TEST_IMAGES["base"]  # has python3, as the notebook image the program passes does
PLACE = 90.0  # seconds for the swarm to place and start a task on a busy machine
CLEANUP = 300.0  # seconds for the script (it bounds each of its own waits at 120 s)
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def cluster(swarm_cluster: tuple[swarm_peer.Swarm, int]) -> swarm_peer.Swarm:
    return swarm_cluster[0]  # the session's swarm (tests/e2e/conftest.py)


def _labels(names: StackNames, role: str) -> dict[str, str]:
    return {**names.labels, LABEL_ROLE: role}


def _server(cluster: swarm_peer.Swarm, names: StackNames, user: str, hostname: str) -> Service:
    """A user's server as the spawner makes it, pinned to `hostname`, writing a file home."""
    labels = _labels(names, "user-server")
    home = Mount(
        target="/home/jovyan",
        source=f"{names.user_volume_prefix}-{user}",
        type="volume",
        labels=_labels(names, "user-home"),
    )
    service: Service = cluster.manager.services.create(
        BASE,
        ["sh", "-c", f"echo {user} > /home/jovyan/file && exec sleep infinity"],
        name=f"{names.user_container_prefix}-{user}",
        labels=labels,
        container_labels=labels,
        mounts=[home],
        constraints=[f"node.hostname=={hostname}"],
        restart_policy=RestartPolicy(condition="none"),
        init=True,  # stops at once on SIGTERM, as a notebook server does
    )
    return service


def _running(service: Service) -> bool:
    return any(t["Status"]["State"] == "running" for t in service.tasks())


def _home_file(engine: docker.DockerClient, cluster: swarm_peer.Swarm, hostname: str, volume: str) -> str:
    """The file in a node's volume, read from outside its engine (in the node's container)."""
    node = engine.containers.get(cluster.node(hostname).container_name)
    code, output = node.exec_run(["cat", f"/var/lib/docker/volumes/{volume}/_data/file"])
    return output.decode().strip() if code == 0 else ""


def _home_file_is(
    engine: docker.DockerClient, cluster: swarm_peer.Swarm, hostname: str, volume: str, text: str
) -> bool:
    return _home_file(engine, cluster, hostname, volume) == text


def _run_cleanup(
    cluster: swarm_peer.Swarm, names: StackNames, *, keep_data: bool, image: str = BASE
) -> subprocess.CompletedProcess[str]:
    """The script as UserServers registers it (prelude + script via `python3 -c`, its
    environment from the same function), with the manager's address and client TLS files."""
    manager = cluster.nodes[0]
    cert_path = Path(manager.client.api.cert[0]).parent  # ca.pem, cert.pem, key.pem (the peer's)
    host = SimpleNamespace(
        command_env={
            "DOCKER_HOST": f"tcp://{manager.address}:2376",
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_CERT_PATH": str(cert_path),
        }
    )
    args = UserServersArgs(
        host=cast(Any, host),
        names=names,
        network=f"{names.prefix}-net",
        users_network=None,
        keep_data=keep_data,
        depends_on=(),
        orchestrator="swarm",
        cleanup_image=image,
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    environment.update({k: str(v) for k, v in user_servers_environment(args).items()})
    began = time.monotonic()
    ran = subprocess.run(
        [*PYTHON, user_servers_script(args)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=CLEANUP,
    )
    print(f"\ncleanup ({'keepData' if keep_data else 'no keepData'}) in {time.monotonic() - began:.1f} s:")
    print(ran.stdout, ran.stderr)
    return ran


def _cleaned(cluster: swarm_peer.Swarm, names: StackNames, *, keep_data: bool) -> str:
    ran = _run_cleanup(cluster, names, keep_data=keep_data)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def _ours(client: docker.DockerClient, names: StackNames, role: str) -> list[str]:
    filters = {"label": [f"{k}={v}" for k, v in _labels(names, role).items()]}
    containers = [c.name for c in client.containers.list(all=True, filters=filters)]
    volumes = [v.name for v in client.volumes.list(filters=filters)]
    return containers + volumes


def _nothing_of_the_stack_left(cluster: swarm_peer.Swarm, names: StackNames) -> bool:
    stack = {"label": [f"{k}={v}" for k, v in names.labels.items()]}
    if cluster.manager.services.list(filters=stack):
        return False
    # A task the manager keeps (a job's completed task outlives its service: moby #42789).
    tasks = cluster.manager.api.tasks()
    if any(t["Spec"]["ContainerSpec"].get("Labels", {}).get(LABEL_STACK) == names.stack for t in tasks):
        return False
    return not any(n.client.containers.list(all=True, filters=stack) for n in cluster.nodes)


def test_swarm_destroy_removes_servers_and_homes_on_every_node_and_nothing_else(
    engine: docker.DockerClient, cluster: swarm_peer.Swarm
) -> None:
    names = StackNames(project="jupyterhub-docker", stack=f"clean{secrets.token_hex(3)}")
    other = StackNames(project="jupyterhub-docker", stack=f"other{secrets.token_hex(3)}")
    servers = {"alice": "node2", "bob": "node3"}
    made = [_server(cluster, names, user, hostname) for user, hostname in servers.items()]
    # Not the stack's: a service with a volume on node3, no labels; another stack's home on node2.
    bystander = cluster.manager.services.create(
        BASE,
        ["sh", "-c", "echo keep > /data/file && exec sleep infinity"],
        name=f"bystander-{secrets.token_hex(3)}",
        mounts=[Mount(target="/data", source="bystander-data", type="volume")],
        constraints=["node.hostname==node3"],
        init=True,
    )
    cluster.node("node2").client.volumes.create(
        f"{other.user_volume_prefix}-carol", labels=_labels(other, "user-home")
    )
    # What a task that could not be removed leaves: a stopped container with the server labels.
    cluster.node("node3").client.containers.create(
        BASE, ["true"], name=f"{names.user_container_prefix}-dead", labels=_labels(names, "user-server")
    )
    try:
        for service in [*made, bystander]:
            eventually(partial(_running, service), timeout=PLACE, what=f"{service.name} running")
        for user, hostname in servers.items():
            volume = f"{names.user_volume_prefix}-{user}"
            eventually(
                partial(_home_file_is, engine, cluster, hostname, volume, user),
                timeout=30,
                what=f"{user}'s file on {hostname}",
            )

        out = _cleaned(cluster, names, keep_data=False)

        assert "removed 2 user server service(s)" in out
        assert "node node1: removed 0 container(s), 0 home volume(s)" in out
        assert "node node2: removed 0 container(s), 1 home volume(s)" in out
        assert "node node3: removed 1 container(s), 1 home volume(s)" in out
        for node in cluster.nodes:
            assert _ours(node.client, names, "user-server") == [], node.hostname
            assert _ours(node.client, names, "user-home") == [], node.hostname
        # The script returns once its own service's tasks are reaped: nothing to wait for.
        assert _nothing_of_the_stack_left(cluster, names)
        # Everything else is where it was.
        assert _running(bystander)
        assert "bystander-data" in [v.name for v in cluster.node("node3").client.volumes.list()]
        assert _ours(cluster.node("node2").client, other, "user-home") == [
            f"{other.user_volume_prefix}-carol"
        ]
    finally:
        bystander.remove()


def test_swarm_destroy_with_keep_data_keeps_homes_and_replaces_a_leftover_cleanup(
    engine: docker.DockerClient, cluster: swarm_peer.Swarm
) -> None:
    names = StackNames(project="jupyterhub-docker", stack=f"keep{secrets.token_hex(3)}")
    server = _server(cluster, names, "dave", "node2")
    volume = f"{names.user_volume_prefix}-dave"
    # A cleanup service of the same name, as a destroy killed while it ran leaves it.
    cluster.manager.services.create(
        BASE, ["sleep", "infinity"], name=names.cleanup_service, labels=_labels(names, "cleanup"), init=True
    )
    eventually(lambda: _running(server), timeout=PLACE, what="dave's server running")
    eventually(lambda: _home_file(engine, cluster, "node2", volume) == "dave", timeout=30, what="file")

    out = _cleaned(cluster, names, keep_data=True)

    assert "removed 1 user server service(s)" in out
    assert "node node2: removed 0 container(s), kept the home volumes" in out
    assert "keepData is set: users' home volumes are kept" in out
    for node in cluster.nodes:
        assert _ours(node.client, names, "user-server") == [], node.hostname
    assert _ours(cluster.node("node2").client, names, "user-home") == [volume]
    assert _home_file(engine, cluster, "node2", volume) == "dave"
    assert _nothing_of_the_stack_left(cluster, names)


def test_swarm_destroy_names_the_node_where_the_cleanup_could_not_run(cluster: swarm_peer.Swarm) -> None:
    """An image missing on the workers: the task there is rejected; the script fails with that
    node's task error, and removes its cleanup service (the next destroy starts clean)."""
    names = StackNames(project="jupyterhub-docker", stack=f"fail{secrets.token_hex(3)}")
    only_on_manager = f"local/only-node1:{secrets.token_hex(3)}"
    repository, tag = only_on_manager.split(":")
    cluster.node("node1").client.images.get(BASE).tag(repository, tag)

    ran = _run_cleanup(cluster, names, keep_data=False, image=only_on_manager)

    assert ran.returncode != 0
    assert re.search(r"the cleanup on node node[23] rejected", ran.stderr)
    assert "No such image" in ran.stderr
    assert _nothing_of_the_stack_left(cluster, names)
