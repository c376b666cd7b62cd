"""What the stack's Docker API proxy lets the hub do (hub/docker_api_proxy.py serves it).

The hub reaches the engine only through that proxy, so code running in the hub can do what
DockerSpawner does for this stack and nothing else:

- ping, version, a trimmed `info` (the CPU count and memory the spawn limits are sized by);
- create a container only as DockerSpawner creates a user server of this stack, with the
  values the stack configures (hub/api_proxy/container_policy.py);
- inspect, start, stop, kill and remove containers that carry the stack's user-server
  labels (checked on the engine's own answer, by the container's full ID);
- inspect the stack's notebook images, pull them (`fromImage` and `tag`, nothing else: no
  import from a URL, no retag), and log in to the stack's registry;
- on a swarm (orchestrator: swarm) only: create, inspect and remove services as
  StackSwarmSpawner creates a user server, and list the tasks of one such service
  (hub/api_proxy/service_policy.py).

Everything else is refused with 403 and a message naming the rule: exec, builds, volumes and
networks API, swarm, plugins, system-wide calls, containers of anyone else.

A decision carries what is forwarded: the route and the query arguments the policy read (each
route takes only the arguments the spawner sends), and the body it checked. The proxy sends
those, encoded again (hub/api_proxy/api_request.py), never the client's bytes. The API version is the one
the policy was written for, 1.41 (Docker Engine 20.10 and newer speak it; the proxy answers
`/version` with at most 1.41, so docker-py's negotiation settles on it); only `/_ping` and
`/version` are asked without one, as docker-py does before it knows the version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.api_proxy.api_request import BadRequestError, Target, read_body, read_target
from hub.api_proxy.container_policy import create_problems
from hub.api_proxy.policy_document import POLICY_FILE, PORT, PolicyDocument, policy_document
from hub.api_proxy.server_rules import lowered

__all__ = ["POLICY_FILE", "PORT", "PolicyDocument", "policy_document"]

API_VERSION = "1.41"
# No body: a request without one (GET, DELETE, most POSTs).
NO_BODY: Any = object()


@dataclass(frozen=True)
class ApiRequest:
    """A request as the proxy read it (hub/api_proxy/api_request.py): method, target, and the body
    parsed from JSON (NO_BODY when there is none)."""

    method: str
    target: Target
    body: Any = NO_BODY

    @property
    def route(self) -> str:
        return self.target.route


def read_request(method: str, uri: str, raw_body: bytes) -> ApiRequest | Refused:
    """The client's request, read strictly, or why it cannot be read."""
    try:
        target = read_target(uri)
        body = read_body(raw_body) if raw_body else NO_BODY
    except BadRequestError as exc:
        return Refused(str(exc))
    return ApiRequest(method.upper(), target, body)


@dataclass(frozen=True)
class Refused:
    """A 403 from the proxy; `reason` names the rule, for the hub's log and the person reading it."""

    reason: str


@dataclass(frozen=True)
class Forward:
    """Pass the request on, as decided: `route` and `query` are what the engine is asked
    (encoded again by the proxy), `body` the document the policy checked (NO_BODY: none).
    `target`: a container the call acts on, which must be one of the stack's user servers (the
    proxy inspects it first and names it by its full ID); `volumes`: homes that must be the
    stack's if they exist (their labels, from the engine's inspect); `trim_info`: answer with
    the few `info` fields the hub reads; `cap_version`: answer `/version` with API 1.41 at most;
    `service`: as `target`, a Swarm service (hub/api_proxy/service_policy.py); `task_filters`: a `tasks`
    call on `service`, forwarded with these filters and the service's full ID; `registry_auth`:
    whether the request's X-Registry-Auth header goes along."""

    route: str
    query: dict[str, str]
    body: Any = NO_BODY
    target: str | None = None
    volumes: tuple[str, ...] = ()
    trim_info: bool = False
    cap_version: bool = False
    service: str | None = None
    task_filters: dict[str, list[str]] | None = None
    registry_auth: bool = False


Decision = Forward | Refused

_CONTAINER_ACTION = re.compile(r"^/containers/([^/]+)/(json|start|stop|kill)$")
_CONTAINER = re.compile(r"^/containers/([^/]+)$")
_IMAGE_INSPECT = re.compile(r"^/images/(.+)/json$")
_SERVICE = re.compile(r"^/services/([^/]+)$")
# Only what the engine needs to answer and the hub reads from `info` (hub/servers.py,
# hub/spawners/throughput.py): the rest (host name, kernel, registry mirrors, swarm) stays hidden.
INFO_FIELDS = ("NCPU", "MemTotal", "ServerVersion", "OSType", "Architecture")
_BOOLEAN = {"0", "1", "true", "false", "True", "False"}
_SIGNAL = re.compile(r"^(SIG)?[A-Z0-9]{1,10}$|^[0-9]{1,2}$")
_SECONDS = re.compile(r"^-?[0-9]{1,6}$")


def _query(request: ApiRequest, allowed: Mapping[str, re.Pattern[str] | set[str]]) -> dict[str, str] | str:
    """The request's query if every argument is one the route takes, with an allowed value."""
    query = request.target.query
    for key, value in query.items():
        rule = allowed.get(key)
        if rule is None:
            return f"{request.method} {request.route} takes no argument {key!r}"
        if not (value in rule if isinstance(rule, set) else rule.match(value)):
            return f"{request.method} {request.route}: {key}={value!r} is refused"
    return dict(query)


def decide(policy: PolicyDocument, request: ApiRequest) -> Decision:
    """Whether the request may pass, and exactly what is forwarded if so."""
    route, method, version = request.route, request.method, request.target.version
    if version is None:
        if route == "/_ping" and method in ("GET", "HEAD") and not request.target.query:
            return Forward(route, {})
        if route == "/version" and method == "GET" and not request.target.query:
            return Forward(route, {}, cap_version=True)
        return Refused(f"{method} {route} without the API version (/v{API_VERSION}/...)")
    if version != API_VERSION:
        return Refused(f"API version {version}: this proxy speaks {API_VERSION} only")
    has_body = request.body is not NO_BODY
    # `get`: a policy file rendered before the key existed is a plain Docker stack's.
    if policy.get("orchestrator") == "swarm" and (route.startswith("/services/") or route == "/tasks"):
        return _swarm(policy, request)
    if route == "/containers/create" and method == "POST":
        return _create(policy, request)
    if route == "/auth" and method == "POST":
        return _auth(policy, request)
    if has_body:
        # Every other route DockerSpawner uses has no body; one sent anyway is not looked at.
        return Refused(f"{method} {route} with a request body")
    if route == "/_ping" and method in ("GET", "HEAD"):
        return _plain(request, {})
    if route == "/version" and method == "GET":
        decision = _plain(request, {})
        return Forward(route, {}, cap_version=True) if isinstance(decision, Forward) else decision
    if route == "/info" and method == "GET":
        decision = _plain(request, {})
        return Forward(route, {}, trim_info=True) if isinstance(decision, Forward) else decision
    action = _CONTAINER_ACTION.match(route)
    if action:
        arguments = {
            ("GET", "json"): {},
            ("POST", "start"): {},
            ("POST", "stop"): {"t": _SECONDS},
            ("POST", "kill"): {"signal": _SIGNAL},
        }.get((method, action.group(2)))
        if arguments is not None:
            return _on_container(request, action.group(1), arguments)
    container = _CONTAINER.match(route)
    if container and method == "DELETE":
        return _on_container(
            request, container.group(1), {"v": _BOOLEAN, "force": _BOOLEAN, "link": {"0", "false", "False"}}
        )
    image = _IMAGE_INSPECT.match(route)
    if image and method == "GET":
        if image.group(1) not in policy["images"]:
            return Refused(f"image {image.group(1)!r} is not one of the stack's notebook images")
        return _plain(request, {})
    if route == "/images/create" and method == "POST":
        return _pull(policy, request)
    return Refused(f"{method} {route} is not something DockerSpawner does for this stack")


def _plain(request: ApiRequest, arguments: Mapping[str, re.Pattern[str] | set[str]]) -> Decision:
    query = _query(request, arguments)
    return Refused(query) if isinstance(query, str) else Forward(request.route, query)


def _on_container(
    request: ApiRequest, name: str, arguments: Mapping[str, re.Pattern[str] | set[str]]
) -> Decision:
    query = _query(request, arguments)
    if isinstance(query, str):
        return Refused(query)
    return Forward(request.route, query, target=name)


def _create(policy: PolicyDocument, request: ApiRequest) -> Decision:
    query = _query(request, {"name": re.compile(r"^.*$")})
    if isinstance(query, str):
        return Refused(query)
    problems = create_problems(policy, query.get("name", ""), request.body)
    if problems:
        return Refused("; ".join(problems))
    host = lowered(lowered(request.body)["hostconfig"])
    homes = tuple(
        str(lowered(m).get("source"))
        for m in host["mounts"]
        if lowered(m).get("target") == policy["homeTarget"]
    )
    return Forward(request.route, query, body=request.body, volumes=homes)


def _auth(policy: PolicyDocument, request: ApiRequest) -> Decision:
    """docker-py's login: the stack's registry only, with nothing but credentials."""
    if request.target.query:
        return Refused("POST /auth takes no query")
    body = request.body
    document = lowered(body)
    known = {"username", "password", "email", "serveraddress"}
    if not isinstance(body, dict) or set(document) - known:
        return Refused(f"POST /auth: only {sorted(known)}")
    if not all(isinstance(value, str) or value is None for value in document.values()):
        return Refused("POST /auth: the credentials are not strings")
    if policy["registry"] is None or document.get("serveraddress") != policy["registry"]:
        return Refused("logging in is allowed only to the stack's registry")
    return Forward(request.route, {}, body=body)


def _pull(policy: PolicyDocument, request: ApiRequest) -> Decision:
    # fromSrc (an import from a URL), repo (its tag), changes, message, platform: refused.
    query = _query(request, {"fromImage": re.compile(r"^.+$"), "tag": re.compile(r"^.*$")})
    if isinstance(query, str):
        return Refused(query)
    name, tag = query.get("fromImage", ""), query.get("tag", "")
    if tag:
        name += ("@" if tag.startswith("sha256:") else ":") + tag
    if name not in policy["images"]:
        return Refused(f"pulling {name!r} is refused: only the stack's notebook images are pulled")
    return Forward(request.route, query, registry_auth=True)


def _swarm(policy: PolicyDocument, request: ApiRequest) -> Decision:
    """The Swarm calls StackSwarmSpawner makes (hub/api_proxy/service_policy.py has the rules)."""
    # Imported here: hub/api_proxy/service_policy.py builds on this module's types.
    from hub.api_proxy import service_policy

    method, route, body = request.method, request.route, request.body
    if route == "/services/create" and method == "POST":
        if request.target.query:
            return Refused(f"POST /services/create takes no query, not {sorted(request.target.query)}")
        problems = service_policy.service_problems(policy, body)
        if problems:
            return Refused("; ".join(problems))
        # The registry's credentials go to the manager, which hands them to the node that pulls.
        return Forward(route, {}, body=body, registry_auth=policy["registry"] is not None)
    if body is not NO_BODY:
        return Refused(f"{method} {route} with a request body")
    service = _SERVICE.match(route)
    if service and method in ("GET", "DELETE") and service.group(1) != "create":
        if request.target.query:
            # insertDefaults and the like: the spawner sends none, and the check's inspect is the answer.
            return Refused(f"{method} {route} takes no query, not {sorted(request.target.query)}")
        return Forward(route, {}, service=service.group(1))
    if route == "/tasks" and method == "GET":
        chosen = service_policy.task_filters(request.target.query)
        if isinstance(chosen, str):
            return Refused(chosen)
        return Forward(route, {}, service=chosen[0], task_filters=chosen[1])
    return Refused(f"{method} {route} is not something SwarmSpawner does for this stack")


def is_user_server(policy: PolicyDocument, inspected: dict[str, Any]) -> bool:
    """The engine's own description of a container says it is one of this stack's servers."""
    labels = (inspected.get("Config") or {}).get("Labels") or {}
    return all(labels.get(key) == value for key, value in policy["labels"].items())


def is_stack_home(policy: PolicyDocument, inspected: dict[str, Any]) -> bool:
    """The engine's own description of a volume says it is one of this stack's homes (a name
    alone could be another stack's volume: `jhub-a-home-data` of stack `a` is the data volume
    of a stack `a-home`)."""
    labels = inspected.get("Labels") or {}
    return isinstance(labels, dict) and all(
        labels.get(key) == value for key, value in policy["volumeLabels"].items()
    )
