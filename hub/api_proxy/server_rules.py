"""Rules a user server obeys whether it is a container (hub/api_proxy/container_policy.py) or a Swarm
service (hub/api_proxy/service_policy.py): its name, its home, and one shape of the policy, whole."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub.api_proxy.policy_document import PolicyDocument, ServerShape

# DockerSpawner's escaping (dockerspawner.py `_escape`: a-z and 0-9 kept, every other byte '-'
# and two lower-case hex digits), cut with '-h' and a digest past hub/names.py's bound. A
# server's name is `<prefix>-<user>` or `<prefix>-<user>--<server>`: nothing else can be
# created, so a request cannot take a name such as `<prefix>-docker-api` ('-ap' is no escape).
_ESCAPED = r"(?:[a-z0-9]|-[0-9a-f]{2})*(?:-h[0-9a-f]{20})?"
_SERVER = re.compile(rf"^(?=[a-z0-9-])({_ESCAPED})(?:--(?=[a-z0-9-])({_ESCAPED}))?$")


def lowered(value: Any) -> dict[str, Any]:
    """A JSON object as the engine's Go decoder fills a struct from it: field names match
    case-insensitively (encoding/json), so they are compared lower-cased here. Keys that would
    fold together never get this far (hub/api_proxy/api_request.py refuses them)."""
    return {str(key).lower(): item for key, item in value.items()} if isinstance(value, dict) else {}


def is_default(value: Any) -> bool:
    """null, false, 0, "" and empty: what the engine would use when the field is absent."""
    return value is None or value is False or value == "" or value == [] or value == {} or _is_zero(value)


def _is_zero(value: Any) -> bool:
    return type(value) in (int, float) and value == 0


def is_int(value: Any) -> bool:
    return type(value) is int


@dataclass(frozen=True)
class ServerName:
    """A user server's name, read: the user part and the named server's part ('' for none)."""

    user: str
    server: str

    @property
    def home_suffixes(self) -> set[str]:
        """The homes it may mount: its own (`<user>--<server>`), or its user's (sharedHome)."""
        own = f"{self.user}--{self.server}" if self.server else self.user
        return {own, self.user}


def server_name(policy: PolicyDocument, name: Any) -> ServerName | str:
    """The name a container or service is created under, read; or why it is refused."""
    prefix = policy["containerPrefix"] + "-"
    if not isinstance(name, str) or not name.startswith(prefix):
        return f"name {name!r} does not start with {prefix}"
    match = _SERVER.match(name.removeprefix(prefix))
    if not match or not match.group(1):
        return (
            f"name {name!r} is not {prefix}<user> or {prefix}<user>--<server> as DockerSpawner escapes them"
        )
    return ServerName(match.group(1), match.group(2) or "")


def home_problems(policy: PolicyDocument, name: ServerName | str, source: Any) -> list[str]:
    """A home volume is the server's own (or its user's), by name."""
    prefix = policy["volumePrefix"] + "-"
    if not isinstance(source, str) or not source.startswith(prefix):
        return [f"home volume {source!r} does not start with {prefix}"]
    if isinstance(name, ServerName) and source.removeprefix(prefix) not in name.home_suffixes:
        return [f"home volume {source!r} is not this server's home"]
    return []


def capability_problems(dropped: Any, added: Any, drop_field: str) -> list[str]:
    """Every capability dropped; what is added back is checked against the shape."""
    if not isinstance(dropped, list) or "ALL" not in {str(cap).upper() for cap in dropped}:
        return [f"{drop_field} must be ALL"]
    if added is not None and not (isinstance(added, list) and all(isinstance(c, str) for c in added)):
        return ["the added capabilities are not a list of names"]
    return []


def added_capabilities(added: Any) -> list[str]:
    """The capabilities added back, as the engine names them (no CAP_ prefix, upper case);
    anything but a list of names reads as one that no shape has."""
    if added is None:
        return []
    if not isinstance(added, list):
        return [f"<{added!r}>"]
    return sorted({str(cap).upper().removeprefix("CAP_") for cap in added})


@dataclass(frozen=True)
class Asked:
    """What a create asks for, in the terms of `ServerShape`."""

    image: Any
    memory: Any
    reservation: Any
    cpu: Any
    user: Any
    capabilities: list[str]
    device_requests: Any


def shape_problems(policy: PolicyDocument, asked: Asked, cpu_key: str, where: str) -> list[str]:
    """The create must be one shape of the policy, whole: each value allowed by itself is not
    enough (a root profile's user with a plain profile's image is neither)."""
    shapes = policy["servers"]
    user = asked.user if asked.user not in (None,) else ""
    devices = asked.device_requests or []

    def fits(shape: ServerShape) -> bool:
        return (
            asked.image in shape["images"]
            and is_int(asked.memory)
            and asked.memory == shape["memory"]
            and is_int(asked.reservation)
            and asked.reservation == shape["memoryReservation"]
            and is_int(asked.cpu)
            and asked.cpu == shape[cpu_key]  # type: ignore[literal-required]
            and user == shape["user"]
            and asked.capabilities == shape["capabilities"]
            and devices == shape["deviceRequests"]
        )

    if any(fits(shape) for shape in shapes):
        return []
    problems = []
    if not any(asked.image in s["images"] for s in shapes):
        problems.append(f"image {asked.image!r} is not one of the stack's notebook images")
    memories = sorted({s["memory"] for s in shapes})
    if not (is_int(asked.memory) and asked.memory in memories):
        problems.append(f"{where} memory limit {asked.memory!r} is not a configured one {memories}")
    reservations = sorted({s["memoryReservation"] for s in shapes})
    if not (is_int(asked.reservation) and asked.reservation in reservations):
        problems.append(
            f"{where} memory reservation {asked.reservation!r} is not a configured one {reservations}"
        )
    cpus = sorted({s[cpu_key] for s in shapes})  # type: ignore[literal-required]
    if not (is_int(asked.cpu) and asked.cpu in cpus):
        problems.append(f"{where} CPU limit {asked.cpu!r} is not a configured one {cpus}")
    users = sorted({s["user"] for s in shapes})
    if user not in users:
        problems.append(f"User {user!r} is refused (configured: {users})")
    capabilities = [s["capabilities"] for s in shapes]
    if asked.capabilities not in capabilities:
        allowed = sorted({c for s in shapes for c in s["capabilities"]})
        problems.append(f"capabilities {asked.capabilities} are refused (allowed: {allowed})")
    if not any(devices == s["deviceRequests"] for s in shapes):
        problems.append(f"DeviceRequests {devices} are not a profile's GPUs")
    if not problems:
        problems.append(
            "image, limits, user, capabilities and GPUs together are not one profile's "
            "(each is allowed alone)"
        )
    return problems
