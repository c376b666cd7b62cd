"""The three-node swarm the Swarm work (issue 14) will be tested on, and the Swarm behaviour its
design (docs/swarm.md) relies on, proven on real nested engines: spread placement, VXLAN between
nodes, label constraints, node-local volumes, draining, and a teardown that leaves nothing."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.services import Service
from docker.types import Mount, ServiceMode

from hub.spawners.swarm_spawner import StackSwarmSpawner
from tests import janitor
from tests.e2e.conftest import TEST_IMAGES
from tests.e2e.polling import eventually
from tests.e2e.proxy_thread import api_proxy
from tests.janitor import RUN, RUN_LABEL
from tests.peers import common
from tests.peers.swarm import peer as swarm_peer
from tests.unit.test_docker_policy_swarm import PULLED, make_spawner, policy_for

BASE = TEST_IMAGES["base"]
PLACE = 90.0  # seconds for the swarm to place and start tasks (or to move them) on a busy machine
# Each task says which node it runs on: Swarm expands templates in a service's environment.
NODE_ENV = ["NODE={{.Node.Hostname}}"]


@pytest.fixture(scope="module")
def cluster(swarm_cluster: tuple[swarm_peer.Swarm, int]) -> swarm_peer.Swarm:
    return swarm_cluster[0]  # the session's swarm (tests/e2e/conftest.py)


@contextlib.contextmanager
def service(cluster: swarm_peer.Swarm, name: str, command: str, **options: Any) -> Iterator[Service]:
    """A service of the base image running `command` (sh -c), removed after the block."""
    created: Service = cluster.manager.services.create(
        # init: the engine's init runs as PID 1 and passes SIGTERM on, so a task stops at once
        # (a bare `sleep` as PID 1 ignores it and waits out the 10 s grace period).
        BASE,
        ["sh", "-c", command],
        name=name,
        env=NODE_ENV,
        init=True,
        **options,
    )
    try:
        yield created
    finally:
        created.remove()


def running(cluster: swarm_peer.Swarm, svc: Service) -> list[dict[str, Any]]:
    """The service's tasks that run now (a task being replaced is not counted)."""
    tasks: list[dict[str, Any]] = svc.tasks(filters={"desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def exactly(count: int, tasks: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return tasks if len(tasks) == count else None


def hostnames(cluster: swarm_peer.Swarm, tasks: list[dict[str, Any]]) -> list[str]:
    return sorted(cluster.node_by_id(t["NodeID"]).hostname for t in tasks)


def run_in_task(cluster: swarm_peer.Swarm, task: dict[str, Any], command: list[str]) -> str:
    """Run `command` in the task's container, through the engine of the node it runs on."""
    node = cluster.node_by_id(task["NodeID"])
    container = node.client.containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
    code, output = container.exec_run(command)
    assert code == 0, f"{command} in a task on {node.hostname}: {output.decode(errors='replace')}"
    return str(output.decode())


def overlay_address(task: dict[str, Any], network: str) -> str:
    attachment = next(a for a in task["NetworksAttachments"] if a["Network"]["Spec"]["Name"] == network)
    return str(attachment["Addresses"][0].split("/")[0])


# From one task: each address's /node (the hostname the task there wrote), and what the
# service's `tasks.<name>` DNS name resolves to on the overlay.
PROBE = """
import json, socket, sys, urllib.request
answers = {ip: urllib.request.urlopen(f"http://{ip}:8000/node", timeout=5).read().decode()
           for ip in sys.argv[2:]}
dns = sorted({a[4][0] for a in socket.getaddrinfo("tasks." + sys.argv[1], 8000)})
print(json.dumps({"answers": answers, "dns": dns}))
"""


def test_swarm_has_three_ready_nodes_one_manager_and_the_images_on_each(cluster: swarm_peer.Swarm) -> None:
    nodes = cluster.manager.nodes.list()
    assert sorted(n.attrs["Description"]["Hostname"] for n in nodes) == ["node1", "node2", "node3"]
    assert {n.attrs["Status"]["State"] for n in nodes} == {"ready"}
    assert {n.attrs["Spec"]["Availability"] for n in nodes} == {"active"}
    managers = [n for n in nodes if n.attrs["Spec"]["Role"] == "manager"]
    assert [m.attrs["Description"]["Hostname"] for m in managers] == ["node1"]
    assert managers[0].attrs["ManagerStatus"]["Leader"] is True
    labels = {n.attrs["Description"]["Hostname"]: n.attrs["Spec"].get("Labels", {}) for n in nodes}
    assert labels == {"node1": {}, "node2": {}, "node3": {"jhub.gpu": "true"}}
    for node in cluster.nodes:
        assert BASE in node.client.images.get(BASE).tags


def test_swarm_spreads_one_task_per_node_and_tasks_reach_each_other_over_the_overlay(
    cluster: swarm_peer.Swarm,
) -> None:
    network = cluster.manager.networks.create("swarmtest-net", driver="overlay", attachable=True)
    serve = 'cd /tmp && printf %s "$NODE" > node && exec python3 -m http.server 8000'
    plain = None
    try:
        # A plain container (not a task), as DockerSpawner makes, joins the attachable overlay
        # on a worker where no task uses it yet: the worker fetches the network from the
        # manager (moby #25456 / #36197: swarm networks reach a worker only on demand).
        worker = cluster.node("node3").client
        assert network.name not in [n.name for n in worker.networks.list()]
        plain = worker.containers.run(
            BASE,
            ["sh", "-c", serve.replace('"$NODE"', "plain-on-node3")],
            network=network.name,
            detach=True,
            init=True,
        )
        plain.reload()
        plain_address = plain.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        with service(
            cluster,
            "web",
            serve,
            networks=[network.name],
            mode=ServiceMode("replicated", replicas=3),
            maxreplicas=1,
        ) as web:
            tasks = eventually(
                lambda: exactly(3, running(cluster, web)),
                timeout=PLACE,
                what="3 running tasks of web",
            )
            assert hostnames(cluster, tasks) == ["node1", "node2", "node3"]
            by_address = {overlay_address(t, network.name): cluster.node_by_id(t["NodeID"]) for t in tasks}
            prober = next(t for t in tasks if cluster.node_by_id(t["NodeID"]).hostname == "node1")

            # node1's task fetches from every task (two of them on other nodes: VXLAN) and from
            # the plain container on node3, and resolves the service's tasks through Swarm's DNS.
            def probe() -> dict[str, Any]:
                addresses = [*by_address, plain_address]
                out = run_in_task(cluster, prober, ["python3", "-c", PROBE, "web", *addresses])
                return dict(json.loads(out))

            seen = eventually(probe, timeout=30, what="node1's task reaching every task of web")
            expected = {address: node.hostname for address, node in by_address.items()}
            assert seen["answers"] == {**expected, plain_address: "plain-on-node3"}
            assert seen["dns"] == sorted(by_address)
    finally:
        if plain is not None:
            plain.remove(force=True)
        # The manager removes the network once the tasks are gone; it may take a moment.
        eventually(lambda: _removed(network), timeout=30, what="the overlay network removed")


def test_swarm_rejects_a_named_volume_given_as_a_bind_mount_as_swarmspawner_mounts_it(
    cluster: swarm_peer.Swarm,
) -> None:
    """SwarmSpawner 14.0 turns every `volumes` entry into a bind Mount (its `mounts` property),
    so a named home volume must be mounted by our own spawner, as type `volume`. The manager
    accepts such a service; its tasks are rejected on the node, a state SwarmSpawner's
    start_object keeps waiting through (it counts `rejected` as not ready yet)."""
    as_swarmspawner = Mount(target="/home/jovyan", source="jhub-home-bob", type="bind")
    with service(cluster, "bindhome", "exec sleep infinity", mounts=[as_swarmspawner]) as bindhome:

        def rejected() -> str | None:
            states = [(t["Status"]["State"], t["Status"].get("Err", "")) for t in bindhome.tasks()]
            return next((err for state, err in states if state == "rejected"), None)

        error = eventually(rejected, timeout=PLACE, what="bindhome's task rejected")
        print(f"\na named volume as a bind mount: {error}")
        assert "mount" in error
        assert not running(cluster, bindhome)


def _removed(network: Any) -> bool:
    try:
        network.remove()
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False  # still in use by a task being shut down
    return True


def test_swarm_a_label_constraint_places_tasks_only_on_the_labelled_node(cluster: swarm_peer.Swarm) -> None:
    with service(
        cluster,
        "gpu",
        "exec sleep infinity",
        mode=ServiceMode("replicated", replicas=2),
        constraints=["node.labels.jhub.gpu==true"],
    ) as gpu:
        tasks = eventually(
            lambda: exactly(2, running(cluster, gpu)),
            timeout=PLACE,
            what="2 running tasks of gpu",
        )
        assert hostnames(cluster, tasks) == ["node3", "node3"]
    # With no node carrying the label, the task waits rather than landing anywhere.
    with service(cluster, "tpu", "exec sleep infinity", constraints=["node.labels.jhub.tpu==true"]) as tpu:

        def pending() -> str | None:
            states = [(t["Status"]["State"], t["Status"].get("Err", "")) for t in tpu.tasks()]
            return next((err for state, err in states if state == "pending" and err), None)

        assert "no suitable node" in eventually(pending, timeout=PLACE, what="tpu's task pending")


def test_swarm_a_named_volume_is_per_node_so_a_home_does_not_follow_its_service(
    cluster: swarm_peer.Swarm,
) -> None:
    """A service's named volume is created on the node its task lands on: moved to another
    node, the service finds an empty volume of the same name, and the files stay behind."""
    volume = "jhub-home-alice"
    first_writer = 'cd /home/jovyan && { test -e first || printf %s "$NODE" > first; } && exec sleep infinity'
    with service(
        cluster,
        "home",
        first_writer,
        mounts=[f"{volume}:/home/jovyan:rw"],
        constraints=["node.hostname==node2"],
    ) as home:
        on_node2 = eventually(
            lambda: next(iter(running(cluster, home)), None), timeout=PLACE, what="home running on node2"
        )
        read_first = ["sh", "-c", "cat /home/jovyan/first"]
        assert (
            eventually(lambda: run_in_task(cluster, on_node2, read_first), timeout=30, what="first")
            == "node2"
        )

        home.update(constraints=["node.hostname==node3"])
        on_node3 = eventually(
            lambda: next((t for t in running(cluster, home) if t["ID"] != on_node2["ID"]), None),
            timeout=PLACE,
            what="home moved to node3",
        )
        assert hostnames(cluster, [on_node3]) == ["node3"]
        # node3's volume was new and empty: the task there wrote its own name first.
        assert (
            eventually(lambda: run_in_task(cluster, on_node3, read_first), timeout=30, what="first")
            == "node3"
        )
    # The files stayed on node2; node1 never had the volume.
    data = f"/var/lib/docker/volumes/{volume}/_data/first"
    assert _host_exec(cluster, "node2", ["cat", data]) == "node2"
    assert _host_exec(cluster, "node3", ["cat", data]) == "node3"
    assert volume not in [v.name for v in cluster.node("node1").client.volumes.list()]


def _host_exec(cluster: swarm_peer.Swarm, hostname: str, command: list[str]) -> str:
    """Run `command` in the node's container itself (outside its engine)."""
    container = docker.from_env().containers.get(cluster.node(hostname).container_name)
    code, output = container.exec_run(command)
    assert code == 0, output
    return str(output.decode())


def _set_availability(cluster: swarm_peer.Swarm, hostname: str, availability: str) -> None:
    node = next(n for n in cluster.manager.nodes.list() if n.attrs["Description"]["Hostname"] == hostname)
    node.update({**node.attrs["Spec"], "Availability": availability})


def test_swarm_draining_a_worker_moves_its_free_tasks_and_holds_its_pinned_ones(
    cluster: swarm_peer.Swarm,
) -> None:
    with service(cluster, "mover", "exec sleep infinity", constraints=["node.role==worker"]) as mover:
        before = eventually(
            lambda: next(iter(running(cluster, mover)), None), timeout=PLACE, what="mover running"
        )
        [drained] = hostnames(cluster, [before])
        [other] = {"node2", "node3"} - {drained}
        # A service pinned to that node, as a home is pinned to the node holding its volume.
        with service(
            cluster, "pinned", "exec sleep infinity", constraints=[f"node.hostname=={drained}"]
        ) as pinned:
            eventually(lambda: running(cluster, pinned), timeout=PLACE, what="pinned running")
            began = time.monotonic()
            _set_availability(cluster, drained, "drain")
            try:
                after = eventually(
                    lambda: next((t for t in running(cluster, mover) if t["ID"] != before["ID"]), None),
                    timeout=PLACE,
                    what=f"mover moved off {drained}",
                )
                moved_in = time.monotonic() - began
                assert hostnames(cluster, [after]) == [other]
                print(f"\nmover moved from {drained} to {other} in {moved_in:.1f} s after the drain")
                # The pinned one is stopped, not moved: it waits for its node (its data is there).

                def held() -> bool:
                    tasks = pinned.tasks()
                    return not running(cluster, pinned) and any(
                        t["Status"]["State"] == "pending" and "no suitable node" in t["Status"].get("Err", "")
                        for t in tasks
                    )

                eventually(held, timeout=PLACE, what="pinned pending while its node drains")
            finally:
                _set_availability(cluster, drained, "active")
            eventually(lambda: running(cluster, pinned), timeout=PLACE, what="pinned back on its node")
            assert hostnames(cluster, running(cluster, pinned)) == [drained]


def _leftovers(engine: docker.DockerClient, name: str) -> list[str]:
    containers = [found for found, _, _ in janitor.listed_containers(engine) if found.startswith(name)]
    volumes = [v.name for v in engine.volumes.list() if v.name.startswith(name)]
    networks = [n.name for n in engine.networks.list() if n.name.startswith(name)]
    return containers + volumes + networks


def test_swarm_start_is_idempotent_and_teardown_leaves_nothing_on_the_host(
    engine: docker.DockerClient, tmp_path: Path
) -> None:
    """A second start of the same name replaces the leftovers of the first (a killed run);
    everything is labelled as this run's (tests/janitor.py sweeps it); stop removes it all."""
    name = f"peer-swarm-{secrets.token_hex(3)}"
    try:
        first = swarm_peer.start(engine, [], name=name, node_labels={}, scratch=tmp_path / "first")
        first_swarm = first.manager.swarm.attrs["ID"]
        second = swarm_peer.start(engine, [], name=name, node_labels={}, scratch=tmp_path / "second")
        assert second.manager.swarm.attrs["ID"] != first_swarm  # a new swarm, not the old one's state
        assert {n.attrs["Status"]["State"] for n in second.manager.nodes.list()} == {"ready"}
        assert len(second.manager.nodes.list()) == 3
        print(f"\nswarm of 3 nodes without images: {second.setup_seconds:.1f} s")
        containers = engine.containers.list(all=True, filters={"label": f"{common.LABEL}={swarm_peer.KIND}"})
        ours = [c for c in containers if c.name.startswith(name)]
        assert len(ours) == 3
        objects = [c.labels for c in ours]
        objects += [v.attrs["Labels"] for v in engine.volumes.list() if v.name.startswith(name)]
        objects += [n.attrs["Labels"] for n in engine.networks.list(names=[name])]
        assert len(objects) == 7 and all(labels[RUN_LABEL] == RUN for labels in objects)
        for node in [*first.nodes, *second.nodes]:
            node.client.close()
    finally:
        swarm_peer.stop(engine, name)
    assert _leftovers(engine, name) == []


# A run that starts a swarm, says so, and waits to be killed.
KILLED_RUN = """
import sys, time
from pathlib import Path
import docker
from tests.peers.swarm import peer
peer.start(docker.from_env(), [], name=sys.argv[1], node_labels={}, scratch=Path(sys.argv[2]))
print("started", flush=True)
time.sleep(600)
"""


def test_swarm_of_a_killed_run_is_removed_by_the_janitor(engine: docker.DockerClient, tmp_path: Path) -> None:
    name = f"peer-swarm-{secrets.token_hex(3)}"
    run = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, name, str(tmp_path)],
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "started"
        assert len(_leftovers(engine, name)) == 7  # 3 nodes, 3 volumes, 1 network
    finally:
        run.kill()  # SIGKILL: no teardown runs, as when CI's time limit hits
        run.wait()
    try:
        removed = janitor.sweep(engine)
        assert {f"container {name}-node{i}" for i in (1, 2, 3)} <= set(removed)
        assert _leftovers(engine, name) == []
    finally:
        swarm_peer.stop(engine, name)


def _status(call: Callable[[], Any]) -> int:
    """The HTTP status of a docker-py call through the proxy (200 when it raised nothing)."""
    try:
        call()
    except docker.errors.APIError as error:
        return int(error.status_code or 0)
    return 200


def test_swarm_the_hubs_spawner_starts_and_stops_a_server_through_the_api_proxy_and_nothing_else(
    cluster: swarm_peer.Swarm,
) -> None:
    """StackSwarmSpawner, configured as the hub configures it, through the real API proxy on the
    real manager: its start (create, inspect, tasks until running, the home's node kept) and stop
    pass; what an attacker in the hub would ask of Swarm instead is refused, with nothing made."""
    network = cluster.manager.networks.create("swarmtest-users", driver="overlay", attachable=True)
    # The swarm test image stands in for a notebook image, the test overlay for the users' one.
    policy = policy_for(PULLED)
    policy["images"], policy["network"] = [BASE], network.name
    for shape in policy["servers"]:
        shape["images"] = [BASE]
    other = cluster.manager.services.create(BASE, ["sleep", "600"], name="swarmtest-other", init=True)
    try:
        with api_proxy(policy, cluster.manager.api) as url:
            hub_client = docker.APIClient(base_url=url, version="1.41", timeout=60)
            spawner = make_spawner(PULLED, hub_client)
            spawner.image = BASE
            spawner.network_name = network.name
            # A server that stays up without Jupyter: sh ignores the spawner's arguments.
            spawner.cmd = ["sh", "-c", "sleep 600", "sh"]
            began = time.monotonic()
            asyncio.run(asyncio.wait_for(StackSwarmSpawner.start(spawner), timeout=PLACE))
            print(f"\nserver started through the proxy in {time.monotonic() - began:.1f} s")
            service = cluster.manager.services.get("jhub-unit-user-ann")
            assert service.attrs["Spec"]["Labels"]["org.jupyterhub-docker.role"] == "user-server"
            (task,) = running(cluster, service)
            assert spawner.pinned_node == task["NodeID"], "the home's node is kept"
            mounts = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]
            assert [m["Source"] for m in mounts] == ["jhub-unit-home-ann"]

            spec = copy.deepcopy(service.attrs["Spec"])
            bind = {"Type": "bind", "Source": "/", "Target": "/host"}
            spec["TaskTemplate"]["ContainerSpec"]["Mounts"].append(bind)
            spec["Name"] = "jhub-unit-user-eve"
            create = hub_client._url("/services/create")
            # The review's request: a first TaskTemplate with a bind of /, then a normal spec; the
            # manager's Go decoder would have merged both (tests/e2e/test_api_proxy_bypass.py).
            legit = copy.deepcopy(service.attrs["Spec"])
            legit["Name"] = "jhub-unit-user-eve"
            first = {"TaskTemplate": {"ContainerSpec": {"Image": BASE, "Mounts": [bind]}}}
            duplicate = json.dumps(first)[:-1] + "," + json.dumps(legit)[1:]
            json_type = {"Content-Type": "application/json"}
            attacks = {
                "bind /": lambda: hub_client._result(hub_client._post_json(create, data=spec)),
                "a first TaskTemplate": lambda: hub_client._result(
                    hub_client._post(create, data=duplicate, headers=json_type)
                ),
                "list services": lambda: hub_client.services(),
                "inspect other": lambda: hub_client.inspect_service(other.name),
                "remove other": lambda: hub_client.remove_service(other.id),
                "tasks of other": lambda: hub_client.tasks(filters={"service": other.name}),
                "tasks unfiltered": lambda: hub_client.tasks(),
                "tasks of other by ID prefix": lambda: hub_client.tasks(filters={"service": other.id[:8]}),
                "nodes": lambda: hub_client.nodes(),
                "swarm": lambda: hub_client.inspect_swarm(),
                "secrets": lambda: hub_client.secrets(),
            }
            statuses = {case: _status(call) for case, call in attacks.items()}
            assert statuses == dict.fromkeys(attacks, 403)
            names = sorted(s.name for s in cluster.manager.services.list())
            assert names == ["jhub-unit-user-ann", "swarmtest-other"]

            asyncio.run(asyncio.wait_for(spawner.stop(), timeout=PLACE))
            assert cluster.manager.services.list(filters={"name": "jhub-unit-user-ann"}) == []
            # Gone is gone to the spawner, as from the engine itself: a 404, not a refusal.
            assert _status(lambda: hub_client.inspect_service("jhub-unit-user-ann")) == 404
            assert asyncio.run(spawner.poll()) == 0
    finally:
        other.remove()
        for leftover in cluster.manager.services.list(filters={"name": "jhub-unit-user-ann"}):
            leftover.remove()
        eventually(lambda: _removed(network), timeout=60, what="the test overlay removed")
