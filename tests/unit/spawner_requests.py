"""The requests the hub's real spawner sends to start a server, byte for byte.

The spawner (StackSpawner or StackSwarmSpawner, configured by hub/apply.py from a rendered
settings document) runs against `EngineStandIn`, a requests adapter mounted into docker-py's
own client: every request is serialised by docker-py exactly as it goes over the wire, and the
stand-in answers as an engine would for one server's life. Nothing of the policy is modelled
here: the policy tests feed these requests, unchanged or mutated, to the proxy's own request
reader (hub/api_proxy/api_request.py) and policy.
"""

from __future__ import annotations

import asyncio
import json
import unittest.mock
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import docker
import requests
from jupyterhub.objects import Hub

from hub.api_proxy.docker_policy import (
    NO_BODY,
    Decision,
    Forward,
    PolicyDocument,
    Refused,
    decide,
    read_request,
)
from hub.spawners import swarm_spawner
from hub.spawners.profiles import StackSpawner
from hub.spawners.swarm_spawner import StackSwarmSpawner
from plan.naming import StackNames
from tests.unit.test_hub_config import NAMES, configured, documents

SERVICE_ID = "k3v9x2m1q8w7e6r5t4y3u2i1o"
CONTAINER_ID = "0f" * 32
NODE_ID = "n0d3a1b2c3d4e5f6g7h8i9j0k"
TASK_ADDRESS = "10.0.1.5"
ENGINE = "tcp://engine.invalid:2375"


@dataclass
class Request:
    """One request as docker-py sent it: `target` is the raw request target (path and query),
    `raw` the body's bytes (b"" when none); `path`, `query` and `body` are read from them for
    tests that look at one field."""

    method: str
    target: str
    raw: bytes
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query))

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass
class EngineStandIn(requests.adapters.BaseAdapter):
    """Answers docker-py as an engine would for one server's life (a container, or a Swarm
    service and its task), and records each request."""

    labels: dict[str, str]
    network: str
    seen: list[Request] = field(default_factory=list)
    created: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = urlsplit(str(request.url))
        raw = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        target = url.path + (f"?{url.query}" if url.query else "")
        recorded = Request(str(request.method), target, raw, dict(request.headers))
        self.seen.append(recorded)
        status, answer = self._answer(recorded)
        response = requests.Response()
        response.status_code, response.request, response.url = status, request, str(request.url)
        response._content = json.dumps(answer).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def _answer(self, request: Request) -> tuple[int, Any]:
        route = request.path.split("/", 2)[2]
        if route == "version":
            return 200, {"ApiVersion": "1.41", "Version": "20.10.24"}
        if route.startswith("images/"):
            return 200, {"Config": {"Cmd": ["jupyterhub-singleuser"]}}
        if route == "containers/create":
            self.created = True
            return 201, {"Id": CONTAINER_ID, "Warnings": []}
        if route.startswith("containers/"):
            if not self.created:
                return 404, {"message": "No such container"}
            if request.method == "POST":
                return 204, None
            return 200, {
                "Id": CONTAINER_ID,
                "Config": {"Labels": self.labels},
                "State": {"Running": True, "Status": "running"},
                "HostConfig": {},
                "NetworkSettings": {"Networks": {self.network: {"IPAddress": "10.0.0.5"}}},
            }
        if route == "services/create":
            self.created = True
            return 201, {"ID": SERVICE_ID}
        if route.startswith("services/"):
            if not self.created:
                return 404, {"message": "service not found"}
            return 200, {"ID": SERVICE_ID, "Spec": {"Labels": self.labels}}
        if route == "tasks":
            attachment = {"Network": {"Spec": {"Name": self.network}}, "Addresses": [f"{TASK_ADDRESS}/24"]}
            task = {"NodeID": NODE_ID, "Status": {"State": "running"}, "DesiredState": "running"}
            return 200, [{**task, "NetworksAttachments": [attachment]}]
        return 200, {}

    def close(self) -> None:
        pass


class Group:
    def __init__(self, name: str) -> None:
        self.name = name


def make_spawner(
    raw: dict[str, Any],
    client: docker.APIClient,
    *,
    profile: str | None = None,
    pinned: str = "",
    server: str = "",
    user: str = "ann",
    admin: bool = False,
    groups: tuple[str, ...] = (),
    names: StackNames = NAMES,
) -> Any:
    """The hub's spawner for a server of `user`, configured from `raw` as the hub configures
    it, talking to the engine through `client`, ready for its `start`."""
    c = configured(raw, names)
    # DockerSpawner keeps one client per class (dockerspawner.py `client`).
    spawner_class = type("Recorded", (c.JupyterHub.spawner_class,), {"_client": client})
    person = SimpleNamespace(
        name=user, admin=admin, groups=[Group(g) for g in groups], url=f"/user/{user}/", id=1
    )
    # The spawner's name (a named server's) comes from its database row.
    row = SimpleNamespace(name=server, server=None)
    spawner = spawner_class(
        config=c, user=person, hub=Hub(), orm_spawner=row, api_token="t", oauth_client_id="x"
    )
    spawner.load_state({"node_id": pinned} if pinned else {})
    if profile is not None or "profiles" in raw:
        c.Spawner.apply_user_options(spawner, {"profile": profile} if profile else {})
    c.Spawner.pre_spawn_hook(spawner)
    return spawner


def start(raw: dict[str, Any], names: StackNames = NAMES, **kwargs: Any) -> tuple[list[Request], Any]:
    """Every request the configured spawner sends to start one server (see `make_spawner`)."""
    settings, _ = documents(raw, names=names)
    spawner_settings = settings["spawner"]
    engine = EngineStandIn(spawner_settings["labels"], spawner_settings["network"])
    client = docker.APIClient(base_url=ENGINE, version="1.41")
    client.mount("http://", engine)
    spawner = make_spawner(raw, client, names=names, **kwargs)
    # The stack's spawner itself, without the boot queue around it (hub/spawners/throughput.py), which
    # would wait for the server to answer over HTTP.
    base = StackSwarmSpawner if spawner_settings["orchestrator"] == "swarm" else StackSpawner

    async def engine_dns(name: str) -> set[str]:
        # The engine's DNS on the overlay: a dnsrr service's name names its running task.
        return {TASK_ADDRESS} if name == spawner.service_name else set()

    with unittest.mock.patch.object(swarm_spawner, "resolve_all", engine_dns):
        asyncio.run(base.start(spawner))
    return engine.seen, spawner


def created(raw: dict[str, Any], names: StackNames = NAMES, **kwargs: Any) -> Request:
    """The one create request (a container's or a service's) of a server's start."""
    seen, _ = start(raw, names, **kwargs)
    (request,) = [r for r in seen if r.path.endswith("/create") and r.method == "POST"]
    return request


def ask_raw(policy: PolicyDocument, method: str, target: str, raw: bytes = b"") -> Decision:
    """The proxy's decision on a request as sent: read (hub/api_proxy/api_request.py), then decided."""
    request = read_request(method, target, raw)
    return request if isinstance(request, Refused) else decide(policy, request)


def ask(
    policy: PolicyDocument,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: Any = NO_BODY,
) -> Decision:
    """As `ask_raw`, for a request given by its parts, encoded as docker-py encodes them."""
    target = path + ("?" + urlencode(query) if query else "")
    raw = b"" if body is NO_BODY else json.dumps(body).encode()
    return ask_raw(policy, method, target, raw)


def forwarded(policy: PolicyDocument, request: Request) -> Forward:
    """The decision on one of the spawner's requests, which must pass."""
    decision = ask_raw(policy, request.method, request.target, request.raw)
    assert isinstance(decision, Forward), (request.method, request.target, decision)
    return decision
