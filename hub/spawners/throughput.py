"""How the hub serves a class that logs in within the same minute.

Starting a notebook server is CPU-bound: about 0.8 CPU-seconds of Python imports and set-up
(docs/explanation/benchmarks.md). When 30 start at once on 2 cores, the CPU is shared among all of them, so
all 30 are ready late and at about the same time. `QueuedDockerSpawner` lets only a few servers
boot at once (by default two per CPU of the Docker host) and makes the others wait their turn
before their container is created: the first ones are ready within seconds, and the last one
no later than when everyone shared the CPU. A server that has not answered `SLOT_HOLD_SECONDS`
after its container started lets the next one in: on a host where other processes want the CPU
too, the queue opens up rather than holding everyone back. The spawn-pending page says how many
are waiting.

It also notices a booted server at once. JupyterHub waits for a new server with a backoff that
grows to 5 s between attempts (jupyterhub/utils.py `wait_for_http_server` ->
`exponential_backoff(start_wait=0.2, scale_factor=2, max_wait=5)`; in 6.x its requests go over
aiohttp, with the same backoff), so a server that answers after 12 s is noticed after up to
16 s. Here `start()` returns only once the server answers,
asked every `READY_POLL_SECONDS`, and the hub's own check then succeeds on its first attempt.

DockerSpawner sends every Docker call through one worker thread for all users
(dockerspawner/dockerspawner.py `DockerSpawner.executor`: `ThreadPoolExecutor(1)`, shared by
the class, used by `DockerSpawner.docker`); here each booting server gets a thread, so one
slow create does not hold up the others' calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from dockerspawner import DockerSpawner
from jupyterhub.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Integer
from traitlets.config import Config

READY_POLL_SECONDS = 0.25
# docker-py's connection pool to the engine holds 10 connections (docker.constants
# DEFAULT_MAX_POOL_SIZE); more threads than that would open and drop extra connections.
MAX_DOCKER_THREADS = 10
# A server that has not answered this long after its container started gives up its boot slot;
# the hub keeps waiting for it (up to `Spawner.http_timeout`) while the next one boots. A boot
# takes about 2-3 s when the burst has the CPU (two per CPU booting); much longer means other
# processes want the CPU too, and then fewer servers booting would get a smaller share of it
# than all of them at once: the queue opens up instead of holding everyone back.
SLOT_HOLD_SECONDS = 4


class QueuedDockerSpawner(DockerSpawner):  # type: ignore[misc]  # dockerspawner is untyped
    boot_slots = Integer(
        0,
        config=True,
        help="How many servers boot at once; the others wait their turn. 0: two per CPU of the Docker host.",
    )

    # Shared by every user's spawner, like DockerSpawner's executor and client: the hub is one
    # process with one event loop.
    _slots: ClassVar[asyncio.Semaphore | None] = None
    _waiting: ClassVar[int] = 0
    _pool: ClassVar[ThreadPoolExecutor | None] = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        cls = QueuedDockerSpawner
        if cls._pool is None:
            cls._pool = ThreadPoolExecutor(MAX_DOCKER_THREADS, thread_name_prefix="docker")
        return cls._pool

    async def _boot_slots(self) -> asyncio.Semaphore:
        cls = QueuedDockerSpawner
        if cls._slots is None:
            slots = self.boot_slots
            if slots <= 0:
                try:
                    info = await self.docker("info")
                    slots = 2 * int(info.get("NCPU") or 1)
                except Exception as exc:  # the engine answers create calls anyway; do not block on this
                    self.log.warning("Docker engine info unavailable (%s); 4 servers boot at once", exc)
                    slots = 4
            if cls._slots is None:  # another spawner may have set it while we asked
                self.log.info("Up to %d servers boot at once", slots)
                cls._slots = asyncio.Semaphore(slots)
        return cls._slots

    async def start(self) -> tuple[str, int]:
        slots = await self._boot_slots()
        cls = QueuedDockerSpawner
        cls._waiting += 1
        try:
            await slots.acquire()
        finally:
            cls._waiting -= 1
        deadline = time.monotonic() + self.http_timeout
        try:
            ip, port = await super().start()
            answered = await self._until_answering(ip, port, time.monotonic() + SLOT_HOLD_SECONDS)
        finally:
            slots.release()
        if not answered:
            await self._until_answering(ip, port, deadline)
        return ip, port

    async def _until_answering(self, ip: str, port: int, deadline: float) -> bool:
        """Whether the server answered over HTTP before `deadline`; any answer below 500 counts,
        as for JupyterHub (`wait_for_http_server`), so the hub's own check passes at once."""
        url = f"http://{ip}:{port}" + url_path_join(self.server.base_url, "api")
        client = AsyncHTTPClient()
        while time.monotonic() < deadline:
            try:
                await client.fetch(url, follow_redirects=False, connect_timeout=2, request_timeout=5)
                return True
            except HTTPClientError as exc:
                if exc.code < 500:
                    return True
            except OSError:
                pass  # not listening yet
            await asyncio.sleep(READY_POLL_SECONDS)
        return False

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """The spawn-pending page's message while this server waits for a boot slot."""
        slots = QueuedDockerSpawner._slots
        if slots is not None and slots.locked() and QueuedDockerSpawner._waiting:
            yield {
                "progress": 10,
                "message": f"Many people are starting at once; {QueuedDockerSpawner._waiting} waiting",
            }
        async for event in super().progress():
            yield event


def queued(base: type[Any]) -> type[Any]:
    """`base` (DockerSpawner or a subclass of it, such as the stack's StackSpawner) behind the boot
    queue: QueuedDockerSpawner comes first in the method order, so its `start` wraps `base`'s, and
    its traits are configured under `QueuedDockerSpawner` whatever `base` is."""
    if base is DockerSpawner or issubclass(base, QueuedDockerSpawner):
        return QueuedDockerSpawner if base is DockerSpawner else base
    return type(f"Queued{base.__name__}", (QueuedDockerSpawner, base), {"__module__": __name__})


def configure_throughput(c: Config) -> None:
    """Put the boot queue in front of the DockerSpawner the configuration chose; leave any other
    spawner (hub.extraConfig may choose one) as it is."""
    chosen = c.JupyterHub.spawner_class
    if chosen == "docker":
        c.JupyterHub.spawner_class = "hub.spawners.throughput.QueuedDockerSpawner"
    elif isinstance(chosen, type) and issubclass(chosen, DockerSpawner):
        c.JupyterHub.spawner_class = queued(chosen)
