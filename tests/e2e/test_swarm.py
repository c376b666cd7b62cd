"""A stack on a three-node Docker Swarm (orchestrator: swarm, issue 14), end to end: twelve users
log in and spawn, their servers spread over the nodes, each keeps its files across a stop and a
start (homes pinned to their node), draining a worker moves no home and the hub keeps serving,
and destroy leaves nothing on any node.

The swarm is tests/peers/swarm: three nested Debian engines on one bridge, node1 the manager.
The program reaches the manager over tcp:// with client TLS; the stack's registry is published
on node1's address, which every node's engine trusts as a plain-HTTP registry (what a person
sets on each node, docs/how-to/swarm.md), so workers pull the notebook image the stack built.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.deployers import Deployer, DeployError
from tests.e2e.conftest import (
    TEST_IMAGES,
    USER_PASSWORD,
    Deployment,
    StackFactory,
    stack_factory,
    stack_objects,
)
from tests.e2e.hubclient import HubError, HubUser
from tests.e2e.names import resolve
from tests.e2e.polling import eventually
from tests.peers.swarm import peer as swarm_peer
from tests.peers.swarm.stack import DOMAIN, SPAWN_TIMEOUT, swarm_config

USERS = [f"student{n:02d}" for n in range(1, 13)]
STACK_LABEL = "org.jupyterhub-docker.stack"
# A notebook image the engine has (pulled, not built): a stack without a registry.
PULLED = {"image": TEST_IMAGES["base"]}


@pytest.fixture(scope="module")
def cluster(swarm_cluster: tuple[swarm_peer.Swarm, int]) -> tuple[swarm_peer.Swarm, int]:
    return swarm_cluster  # the session's swarm (tests/e2e/conftest.py)


@pytest.fixture(scope="module")
def swarm_stacks(deployer: Deployer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackFactory]:
    with stack_factory(deployer, tmp_path_factory.mktemp("swarm-stacks")) as make:
        yield make


@pytest.fixture(scope="module")
def stack(cluster: tuple[swarm_peer.Swarm, int], swarm_stacks: StackFactory) -> Deployment:
    swarm, registry_port = cluster
    began = time.monotonic()
    made = swarm_stacks(
        {"type": "shared-password", "allowAll": True},
        **swarm_config(swarm, swarm.nodes[0], registry_port, USER_PASSWORD),
    )
    print(f"swarm stack deployed in {time.monotonic() - began:.1f} s")
    return made


@contextlib.contextmanager
def hub_log_on_failure(swarm: swarm_peer.Swarm, stack: Deployment) -> Iterator[None]:
    """A failing step prints the hub's log and the API proxy's refusals: they say why."""
    try:
        yield
    except BaseException:
        for role in ("hub", "docker-api"):
            with contextlib.suppress(docker.errors.APIError):
                log = swarm.manager.containers.get(f"{stack.prefix}-{role}").logs(tail=150)
                print(f"--- {role} log ---\n{log.decode(errors='replace')}")
        raise


def test_swarm_a_worker_or_an_engine_outside_a_swarm_fails_before_anything_is_created(
    cluster: tuple[swarm_peer.Swarm, int], swarm_stacks: StackFactory, engine: docker.DockerClient
) -> None:
    swarm, registry_port = cluster
    worker = swarm.node("node2")
    config = swarm_config(swarm, worker, registry_port, USER_PASSWORD)
    with pytest.raises(DeployError) as failure:
        swarm_stacks({"type": "shared-password", "allowAll": True}, name="swarmworker", **config)
    assert "orchestrator is swarm, but this engine is a worker, not a manager" in str(failure.value)
    assert _stack_objects_on(worker, "swarmworker") == EMPTY
    assert _stack_objects_on(swarm.nodes[0], "swarmworker") == EMPTY
    # This machine's own engine is in no swarm.
    with pytest.raises(DeployError) as failure:
        swarm_stacks(
            {"type": "shared-password", "allowAll": True},
            name="swarmnone",
            secret_config={"auth.password": USER_PASSWORD},
            extra={"orchestrator": "swarm", "network": {"isolation": False}, "notebook": PULLED},
        )
    assert "this engine is not in a swarm (state: inactive)" in str(failure.value)
    assert stack_objects(engine, "swarmnone") == {"containers": [], "volumes": [], "networks": []}


def _user(stack: Deployment, name: str, ca_file: Path) -> HubUser:
    user = HubUser(stack.url, name).trusting(ca_file)
    user.login(USER_PASSWORD)
    assert user.logged_in(), name
    return user


def _running_nodes(swarm: swarm_peer.Swarm, stack: Deployment) -> dict[str, str]:
    """Service name -> hostname of the node its running task is on, for the stack's users."""
    placed: dict[str, str] = {}
    for service in swarm.manager.services.list(filters={"label": f"{STACK_LABEL}={stack.spec.name}"}):
        for task in service.tasks(filters={"desired-state": "running"}):
            if task["Status"]["State"] == "running":
                placed[service.name] = swarm.node_by_id(task["NodeID"]).hostname
    return placed


@pytest.fixture(scope="module")
def ca_file(stack: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("swarm-ca") / "ca.pem"
    path.write_text(stack.outputs["caCertificate"])
    return path


def test_swarm_twelve_users_spread_over_the_nodes_and_keep_their_files_across_a_restart(
    cluster: tuple[swarm_peer.Swarm, int], stack: Deployment, ca_file: Path, engine: docker.DockerClient
) -> None:
    swarm, _ = cluster
    # Deployed over tcp:// with client TLS (dockerTls.*): nothing of it is on this machine's engine.
    assert stack_objects(engine, stack.spec.name) == EMPTY
    with (
        hub_log_on_failure(swarm, stack),
        resolve({DOMAIN: swarm.nodes[0].address}),
        ThreadPoolExecutor(len(USERS)) as crowd,
    ):
        users = list(crowd.map(lambda name: _user(stack, name, ca_file), USERS))
        began = time.monotonic()
        list(crowd.map(lambda user: user.start_server(timeout=SPAWN_TIMEOUT), users))
        print(f"twelve servers ready {time.monotonic() - began:.1f} s after the first click")
        first = _running_nodes(swarm, stack)
        assert len(first) == len(USERS), first
        # Spread: Swarm places each new service on the node running the fewest tasks.
        assert len(set(first.values())) >= 2, first
        print(f"servers per node: {sorted((n, list(first.values()).count(n)) for n in set(first.values()))}")

        def write(user: HubUser) -> None:
            assert user.put_notebook(f"{user.name}.ipynb", f"print('{user.name}')").status_code == 201

        list(crowd.map(write, users))
        list(crowd.map(lambda user: user.stop_server(timeout=120), users))
        assert _running_nodes(swarm, stack) == {}, "a stopped server's service is removed"
        list(crowd.map(lambda user: user.start_server(timeout=SPAWN_TIMEOUT), users))
        again = _running_nodes(swarm, stack)
        # Each home is a volume on one node: the server went back to it, and found its files.
        assert again == first
        for user in users:
            assert user.get_contents(f"{user.name}.ipynb").status_code == 200, user.name


def test_swarm_draining_a_worker_moves_no_home_and_the_hub_keeps_serving(
    cluster: tuple[swarm_peer.Swarm, int], stack: Deployment, ca_file: Path
) -> None:
    swarm, _ = cluster
    with hub_log_on_failure(swarm, stack):
        placed = _running_nodes(swarm, stack)
        worker = next(n for n in ("node2", "node3") if n in placed.values())
        prefix = f"{stack.prefix}-user-"
        pinned = sorted(s.removeprefix(prefix) for s, n in placed.items() if n == worker)
        elsewhere = sorted(s.removeprefix(prefix) for s, n in placed.items() if n != worker)
        node = swarm.manager.nodes.get(worker)
        spec = dict(node.attrs["Spec"])
        node.update({**spec, "Availability": "drain"})
        try:
            # The drained worker's servers stop; none starts on another node (its home is not there).
            eventually(
                lambda: not [s for s, n in _running_nodes(swarm, stack).items() if n == worker],
                timeout=90,
                what=f"no server running on drained {worker}",
            )
            time.sleep(5)  # a rescheduled task would be placed within a few seconds
            moved = {
                s: n for s, n in _running_nodes(swarm, stack).items() if s.removeprefix(prefix) in pinned
            }
            assert moved == {}, f"homes pinned to {worker} moved: {moved}"
            with resolve({DOMAIN: swarm.nodes[0].address}):
                # The hub, on the manager, keeps serving, and so do servers on the other nodes.
                other = _user(stack, elsewhere[0], ca_file)
                assert other.get_contents(f"{other.name}.ipynb").status_code == 200
                # A user whose home is on the drained node is told so, at once, and nothing moves.
                stranded = _user(stack, pinned[0], ca_file)
                stranded.stop_server(timeout=120)
                with pytest.raises(HubError, match="lives on swarm node"):
                    stranded.session.get(stranded.url(f"hub/spawn/{stranded.name}"), timeout=60)
                    stranded.wait_spawned(timeout=120)
        finally:
            node.reload()
            node.update({**dict(node.attrs["Spec"]), "Availability": "active"})
        # The home never left its node, and its files are there when the node is back.
        with resolve({DOMAIN: swarm.nodes[0].address}):
            stranded = _user(stack, pinned[0], ca_file)
            stranded.start_server(timeout=SPAWN_TIMEOUT)
            assert _running_nodes(swarm, stack)[f"{prefix}{stranded.name}"] == worker
            assert stranded.get_contents(f"{stranded.name}.ipynb").status_code == 200


EMPTY: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}


def _stack_objects_on(node: swarm_peer.Node, stack: str) -> dict[str, list[str]]:
    label = f"{STACK_LABEL}={stack}"
    client = node.client
    return {
        "containers": sorted(c.name for c in client.containers.list(all=True, filters={"label": label})),
        "volumes": sorted(v.name for v in client.volumes.list(filters={"label": label})),
        "networks": sorted(n.name for n in client.networks.list(filters={"label": label})),
    }


def test_swarm_destroy_leaves_nothing_on_any_node(
    cluster: tuple[swarm_peer.Swarm, int], stack: Deployment
) -> None:
    swarm, _ = cluster
    before = {node.hostname: _stack_objects_on(node, stack.spec.name) for node in swarm.nodes}
    assert sum(len(o["volumes"]) for o in before.values()) >= len(USERS), before
    stack.destroy()
    assert swarm.manager.services.list(filters={"label": f"{STACK_LABEL}={stack.spec.name}"}) == []
    for node in swarm.nodes:
        assert _stack_objects_on(node, stack.spec.name) == EMPTY, node.hostname
