"""The hub under a burst of logins (hub/spawners/throughput.py): a few servers boot at once, the others
wait their turn; every booting server has its own thread for Docker calls.

The queue is exercised for real: real asyncio, real HTTP servers the spawner polls. Only the
Docker engine is stood in for, by a DockerSpawner whose `start` waits until the test lets it go
(the order of the class bases puts it where DockerSpawner's own `start` would run). Nothing
asserts on wall-clock time: the tests count who has entered, which the semaphore decides.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner
from traitlets.config import Config

from hub.spawners.throughput import MAX_DOCKER_THREADS, QueuedDockerSpawner, configure_throughput


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server_port() -> Iterator[int]:
    """A booted notebook server, as far as the spawner can tell: it answers HTTP."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture(autouse=True)
def fresh_queue() -> Iterator[None]:
    QueuedDockerSpawner._slots = None
    yield
    QueuedDockerSpawner._slots = None


class HeldEngine(DockerSpawner):  # type: ignore[misc]
    """DockerSpawner's `start` as the engine would run it, held until the test releases it."""

    entered: list[str]
    release: dict[str, asyncio.Event]
    port: int

    async def start(self) -> tuple[str, int]:
        HeldEngine.entered.append(self.probe_name)
        await HeldEngine.release[self.probe_name].wait()
        return "127.0.0.1", HeldEngine.port


class Probe(QueuedDockerSpawner, HeldEngine):
    server = SimpleNamespace(base_url="/user/probe/")
    probe_name = ""


async def _until(condition: object, what: str) -> None:
    for _ in range(2000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


def test_a_burst_of_five_boots_two_at_a_time_in_turn(server_port: int) -> None:
    async def scenario() -> None:
        names = [f"user{i}" for i in range(5)]
        HeldEngine.entered, HeldEngine.port = [], server_port
        HeldEngine.release = {name: asyncio.Event() for name in names}
        spawners = []
        for name in names:
            spawner = Probe(boot_slots=2)
            spawner.probe_name = name
            spawners.append(spawner)
        tasks = [asyncio.create_task(s.start()) for s in spawners]
        await _until(lambda: len(HeldEngine.entered) == 2, "two servers booting")
        for _ in range(20):  # the others stay queued however long the first two take
            await asyncio.sleep(0)
        assert len(HeldEngine.entered) == 2
        assert not any(task.done() for task in tasks)
        # Each server that answers lets exactly one more in, in the order they asked.
        for released in range(5):
            HeldEngine.release[HeldEngine.entered[released]].set()
            expected = min(5, released + 3)
            await _until(lambda e=expected: len(HeldEngine.entered) == e, f"{expected} servers started")
        results = await asyncio.gather(*tasks)
        assert results == [("127.0.0.1", server_port)] * 5
        assert HeldEngine.entered == names

    asyncio.run(scenario())


def test_docker_calls_of_booting_servers_run_side_by_side() -> None:
    """DockerSpawner's one worker thread would run these one after another and the barrier,
    which needs all of them at once, would break."""
    executor: ThreadPoolExecutor = QueuedDockerSpawner().executor
    barrier = threading.Barrier(MAX_DOCKER_THREADS, timeout=30)
    calls = [executor.submit(barrier.wait) for _ in range(MAX_DOCKER_THREADS)]
    assert sorted(call.result() for call in calls) == list(range(MAX_DOCKER_THREADS))
    assert DockerSpawner().executor is not executor


def test_the_hub_uses_the_queued_spawner_unless_another_was_chosen() -> None:
    c = Config()
    c.JupyterHub.spawner_class = "docker"
    configure_throughput(c)
    assert c.JupyterHub.spawner_class == "hub.spawners.throughput.QueuedDockerSpawner"
    chosen = Config()
    chosen.JupyterHub.spawner_class = "dockerspawner.SwarmSpawner"
    configure_throughput(chosen)
    assert chosen.JupyterHub.spawner_class == "dockerspawner.SwarmSpawner"


def test_the_queue_wraps_the_stacks_own_dockerspawner() -> None:
    class StackLike(HeldEngine):
        pass

    c = Config()
    c.JupyterHub.spawner_class = StackLike
    configure_throughput(c)
    wrapped = c.JupyterHub.spawner_class
    assert wrapped.__mro__[1:3] == (QueuedDockerSpawner, StackLike)
    # Its queue is configured under QueuedDockerSpawner, as hub.extraConfig names it.
    settings = Config()
    settings.QueuedDockerSpawner.boot_slots = 3
    assert wrapped(config=settings).boot_slots == 3
