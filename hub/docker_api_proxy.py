"""The stack's Docker API proxy: the hub's only way to the engine (hub/api_proxy/docker_policy.py decides).

It runs from the hub image in its own container, the only one of the stack with the engine's
socket, on a network that only the hub joins (components/api_proxy.py). HTTP is handled by
tornado (the server) and docker-py's requests session over the socket (the client): nothing
here parses HTTP; the module only decides and forwards, one request at a time per thread.

Hijacked connections (attach, exec start, interactive streams) are never forwarded: the
policy refuses every route that would need one. Answers are read whole: the routes it allows
answer with small JSON documents (a pull's progress stream included).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import docker
import requests
from tornado import httpserver, ioloop, web

from hub.api_proxy.api_request import canonical_body
from hub.api_proxy.docker_policy import (
    API_VERSION,
    INFO_FIELDS,
    NO_BODY,
    POLICY_FILE,
    PORT,
    ApiRequest,
    Decision,
    Forward,
    PolicyDocument,
    Refused,
    decide,
    is_stack_home,
    is_user_server,
    read_request,
)
from hub.api_proxy.service_policy import is_user_service

log = logging.getLogger("docker-api-proxy")
_CONTAINER_SEGMENT = re.compile(r"(/containers/)[^/?]+")
_SERVICE_SEGMENT = re.compile(r"(/services/)[^/?]+")
SOCKET = "unix:///var/run/docker.sock"
# Headers the engine reads from DockerSpawner's requests: the body's type and a pull's
# registry credentials (docker-py `auth.get_config_header`).
FORWARDED_HEADERS = ("Content-Type", "X-Registry-Auth")
# A stop waits for the server to exit (DockerSpawner: 10 s, then SIGKILL) and a pull may be
# slow; docker-py's own client waits 60 s by default, the hub's gives up before this.
ENGINE_TIMEOUT = 300
# As many requests at once as the hub's docker-py pool sends (hub/spawners/throughput.py).
THREADS = 10


def capped_version(version: dict[str, Any]) -> dict[str, Any]:
    """The engine's `/version`, saying at most the API version the policy was written for: a
    client that negotiates (docker-py's version="auto") then speaks it to a newer engine."""

    def number(text: Any) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in str(text).split("."))
        except ValueError:
            return (0,)

    if number(version.get("ApiVersion")) > number(API_VERSION):
        version = {**version, "ApiVersion": API_VERSION}
    return version


@dataclass(frozen=True)
class Missing:
    """The container (or service) a call names does not exist: the engine's own 404."""

    name: str
    kind: str = "container"


class Engine:
    """The engine behind the socket, through docker-py's session (which knows unix sockets)."""

    def __init__(self, client: docker.APIClient | None = None) -> None:
        # `client`: another engine's (the tests' swarm manager, over TCP and TLS).
        self.client = client or docker.APIClient(base_url=SOCKET, version="auto", timeout=ENGINE_TIMEOUT)
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="engine")

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> requests.Response:
        url = self.client.base_url + path
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.pool,
            lambda: self.client.request(method, url, data=body, headers=headers, timeout=ENGINE_TIMEOUT),
        )


def _decided(policy: PolicyDocument, request: ApiRequest) -> Decision:
    """The policy's decision; a request the policy fails on is refused (fails closed), and the
    failure logged for whoever maintains the policy."""
    try:
        return decide(policy, request)
    except Exception:
        log.exception("the policy failed on %s %s", request.method, request.route)
        return Refused("the proxy could not decide on this request")


class ProxyHandler(web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")

    def initialize(self, policy: PolicyDocument, engine: Engine) -> None:
        self.policy = policy
        self.engine = engine

    async def _handle(self) -> None:
        request = self.request
        # Read once (hub/api_proxy/api_request.py): the policy decides on what was read, and the engine is
        # sent what was decided, encoded again; the client's target and body go no further.
        read = read_request(request.method or "GET", request.uri or "", request.body or b"")
        decision: Decision | Missing = read if isinstance(read, Refused) else _decided(self.policy, read)
        if isinstance(read, Refused) or isinstance(decision, Refused):
            self._refuse(decision)  # type: ignore[arg-type]
            return
        assert isinstance(decision, Forward) and isinstance(read, ApiRequest)
        forward = decision
        route, query = forward.route, forward.query
        if forward.target is not None:
            decision, inspected = await self._resolve_target(forward.target)
            if inspected is not None:
                if read.method == "GET" and route.endswith("/json"):
                    # An inspect: the check's own inspect is the answer (one engine call, not two).
                    self._relay(inspected, read.method)
                    return
                # The call names the container by the full ID its inspect returned, so a name
                # reused in between cannot redirect it.
                container_id = str(inspected.json()["Id"])
                route = _CONTAINER_SEGMENT.sub(lambda m: m.group(1) + container_id, route, count=1)
        if isinstance(decision, Forward) and forward.service is not None:
            decision, inspected = await self._resolve_service(forward.service)
            if inspected is not None:
                service_id = str(inspected.json()["ID"])
                if forward.task_filters is not None:
                    # The engine reads the filters this proxy wrote, naming the checked service by
                    # its full ID: a name or ID prefix cannot match another service in between.
                    query = {"filters": json.dumps({**forward.task_filters, "service": [service_id]})}
                elif read.method == "GET":
                    # An inspect: the check's own inspect is the answer.
                    self._relay(inspected, read.method)
                    return
                else:
                    route = _SERVICE_SEGMENT.sub(lambda m: m.group(1) + service_id, route, count=1)
                decision = forward
        for volume in forward.volumes:
            if isinstance(decision, Forward):
                decision = await self._check_home(volume)
        if isinstance(decision, (Missing, Refused)):
            self._refuse(decision)
            return
        headers = {}
        if forward.body is not NO_BODY:
            headers["Content-Type"] = "application/json"
        if forward.registry_auth and (auth := request.headers.get("X-Registry-Auth")):
            headers["X-Registry-Auth"] = auth
        body = canonical_body(forward.body) if forward.body is not NO_BODY else None
        answer = await self.engine.request(read.method, read.target.uri(route, query), body, headers)
        if forward.trim_info and answer.ok:
            info = answer.json()
            self._answer(answer.status_code, {key: info[key] for key in INFO_FIELDS if key in info})
            return
        if forward.cap_version and answer.ok:
            self._answer(answer.status_code, capped_version(answer.json()))
            return
        self._relay(answer, read.method)

    def _refuse(self, decision: Refused | Missing) -> None:
        if isinstance(decision, Missing):
            # The engine's words (docker-py and dockerspawner look at the status only).
            self._answer(404, {"message": f"No such {decision.kind}: {decision.name}"})
            return
        log.warning("refused %s %s: %s", self.request.method, self.request.path, decision.reason)
        self._answer(403, {"message": f"refused by the stack's Docker API proxy: {decision.reason}"})

    async def _resolve_target(self, target: str) -> tuple[Decision | Missing, requests.Response | None]:
        """A call on one container: allowed on the stack's user servers only, decided from the
        engine's own inspect of it, which is returned with the decision when it allows."""
        inspected = await self.engine.request(
            "GET", f"/v{API_VERSION}/containers/{quote(target, safe='')}/json", None, {}
        )
        if inspected.status_code == 404:
            # As the engine answers, so DockerSpawner sees a server that is gone as gone.
            return Missing(target), None
        if not inspected.ok or not is_user_server(self.policy, inspected.json()):
            return Refused(f"container {target!r} is not one of the stack's user servers"), None
        return Forward("", {}), inspected

    async def _resolve_service(self, service: str) -> tuple[Decision | Missing, requests.Response | None]:
        """As `_resolve_target`, for a Swarm service: the stack's user servers' services only,
        decided from the labels of the engine's own inspect of it."""
        inspected = await self.engine.request(
            "GET", f"/v{API_VERSION}/services/{quote(service, safe='')}", None, {}
        )
        if inspected.status_code == 404:
            return Missing(service, kind="service"), None
        if not inspected.ok or not is_user_service(self.policy, inspected.json()):
            return Refused(f"service {service!r} is not one of the stack's user servers"), None
        return Forward("", {}), inspected

    async def _check_home(self, volume: str) -> Decision:
        """A home the create mounts: new (the engine creates it with the homes' labels, which
        the policy checked), or one of this stack's by the engine's own labels. On a swarm the
        manager sees no node's volumes; names and labels are checked there
        (hub/api_proxy/service_policy.py)."""
        inspected = await self.engine.request(
            "GET", f"/v{API_VERSION}/volumes/{quote(volume, safe='')}", None, {}
        )
        if inspected.status_code == 404:
            return Forward("", {})
        if not inspected.ok or not is_stack_home(self.policy, inspected.json()):
            return Refused(f"volume {volume!r} exists and is not one of the stack's homes")
        return Forward("", {})

    def _relay(self, answer: requests.Response, method: str) -> None:
        self.set_status(answer.status_code, answer.reason)
        if content_type := answer.headers.get("Content-Type"):
            self.set_header("Content-Type", content_type)
        if method != "HEAD" and answer.content:
            self.write(answer.content)

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document))

    async def get(self, *args: str) -> None:
        await self._handle()

    async def head(self, *args: str) -> None:
        await self._handle()

    async def post(self, *args: str) -> None:
        await self._handle()

    async def put(self, *args: str) -> None:
        await self._handle()

    async def delete(self, *args: str) -> None:
        await self._handle()

    def check_xsrf_cookie(self) -> None:
        """Not a browser-facing service: no cookies, no XSRF."""


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    policy: PolicyDocument = json.loads(Path(POLICY_FILE).read_text())
    engine = Engine()
    app = web.Application([(r"/.*", ProxyHandler, {"policy": policy, "engine": engine})])
    server = httpserver.HTTPServer(app, max_body_size=16 * 1024 * 1024)
    server.listen(PORT, address="0.0.0.0")
    log.info("forwarding the stack's DockerSpawner calls on port %d", PORT)
    loop = ioloop.IOLoop.current()
    # `docker stop` sends SIGTERM: exit at once, there is no state to save.
    signal.signal(signal.SIGTERM, lambda *_: loop.add_callback_from_signal(loop.stop))
    loop.start()


if __name__ == "__main__":
    main()
