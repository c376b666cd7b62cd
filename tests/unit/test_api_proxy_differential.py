"""The API proxy, proven the way the engine reads a request: for every body the proxy forwards,
what Docker Engine 20.10.24's own decoder fills in (tests/engine_decoder, the engine's code from
the Go module proxy) equals what the policy approved.

The corpus is the hub's real spawner's requests (containers, Swarm services, registry logins)
for several stacks, and requests fuzzed around them (hypothesis): fields of the engine's own
types set, at any case, to values around the dangerous ones; keys removed; keys re-cased; top-
level legacy host fields. Whatever the policy forwards must read the same to the engine. Most
fuzzed requests are refused; the test also counts that a good share pass, so it cannot hold by
refusing everything.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.api_proxy.api_request import canonical_body
from hub.api_proxy.docker_policy import Forward, PolicyDocument, Refused
from tests.engine_decoder.client import EngineDecoder, EngineRefusedError
from tests.unit.spawner_requests import ask_raw, start
from tests.unit.test_docker_policy import FULL, PLAIN, policy_for
from tests.unit.test_docker_policy_swarm import PROFILES as SWARM_PROFILES
from tests.unit.test_docker_policy_swarm import SWARM

# Go maps among the fields: their keys are data (kept as sent), not field names.
MAP_FIELDS = {"labels", "exposedports", "volumes", "tmpfs", "sysctls", "storageopt", "endpointsconfig"}
MAP_FIELDS |= {"driveropts", "options", "annotations"}
ROUTES = ("/containers/create", "/services/create", "/auth")
STACKS: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "plain": (PLAIN, [{}, {"user": "bo", "admin": True}]),
    "profiles": (FULL, [{}, {"profile": "root"}, {"profile": "gpu"}, {"profile": "big", "admin": True}]),
    "named": ({**PLAIN, "namedServers": {"limit": 2}}, [{"server": "lab"}]),
    "registry": ({**PLAIN, "registry": {"enabled": True, "username": "teacher", "password": "pw"}}, [{}]),
    "swarm": (
        {**SWARM, "spawner": {"readOnlyRootFilesystem": True}, "profiles": SWARM_PROFILES},
        [{}, {"profile": "root"}, {"profile": "big", "pinned": "n0d3a1b2c3d4e5f6g7h8i9j0k"}],
    ),
}


@pytest.fixture(scope="module")
def engine_decoder() -> Iterator[EngineDecoder]:
    decoder = EngineDecoder.build()
    yield decoder
    decoder.close()


# Lists whose presence counts even when empty (an empty MaskedPaths unmasks /proc: moby
# daemon/oci_linux.go replaces the defaults with a non-nil list); any other empty list is the
# default, as Go's `omitempty` writes it.
PRESENCE_FIELDS = {"maskedpaths", "readonlypaths"}


def _zero(value: Any, name: str = "") -> bool:
    # A fixed-size array of zeros (ConsoleSize) is the default too.
    if isinstance(value, list):
        return (not value and name not in PRESENCE_FIELDS) or (
            bool(value) and all(type(v) is int and v == 0 for v in value)
        )
    return (
        value is None
        or value is False
        or value == ""
        or value == {}
        or (type(value) in (int, float) and value == 0)
    )


def normalized(value: Any, is_map: bool = False) -> Any:
    """A document as the engine's structs hold it: field names compared case-insensitively
    (Go's decoder matches them so), fields at their zero value dropped (the engine cannot tell
    them from absent), map keys kept as they are."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = key if is_map else key.lower()
            inner = normalized(item, is_map=not is_map and name in MAP_FIELDS)
            if is_map:
                out[name] = None if _zero(inner) else inner
            elif not _zero(inner, name):
                out[name] = inner
        return out
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def approved_view(route: str, body: Any) -> Any:
    """What the policy approved, in the engine's terms: a create's Config beside its HostConfig
    and NetworkingConfig."""
    if route != "/containers/create":
        return normalized(body)
    document = {key.lower(): item for key, item in body.items()}
    host = document.pop("hostconfig", None)
    networking = document.pop("networkingconfig", None)
    return {
        "config": normalized(document),
        "hostconfig": normalized(host),
        **({"networkingconfig": normalized(networking)} if not _zero(normalized(networking)) else {}),
    }


def engine_view(route: str, view: Any) -> Any:
    """What the engine's decoder filled in, in the same terms (a create's three structs under
    their lower-cased names)."""
    return normalized(view)


def assert_read_alike(decoder: EngineDecoder, route: str, decision: Forward) -> None:
    sent = canonical_body(decision.body)
    try:
        view = decoder.view(route, sent)
    except EngineRefusedError:
        # The engine would refuse the body: nothing is created, whatever the policy thought.
        return
    assert engine_view(route, view) == approved_view(route, decision.body), sent.decode()[:2000]


def real_requests() -> Iterator[tuple[str, PolicyDocument, str, str, bytes]]:
    for stack, (raw, starts) in STACKS.items():
        policy = policy_for(raw)
        for kwargs in starts:
            for request in start(raw, **kwargs)[0]:
                if request.raw:
                    yield stack, policy, request.method, request.target, request.raw


def test_api_proxy_differential_the_spawners_requests_read_the_same_to_the_engine(
    engine_decoder: EngineDecoder,
) -> None:
    seen: set[str] = set()
    for stack, policy, method, target, raw in real_requests():
        decision = ask_raw(policy, method, target, raw)
        assert isinstance(decision, Forward), (stack, target, decision)
        # The engine accepts what the spawner sends, and reads it as the policy did.
        view = engine_decoder.view(decision.route, canonical_body(decision.body))
        assert engine_view(decision.route, view) == approved_view(decision.route, decision.body), stack
        seen.add(decision.route)
    assert seen == set(ROUTES)


def test_api_proxy_differential_the_engine_merges_what_the_policy_must_refuse(
    engine_decoder: EngineDecoder,
) -> None:
    """The comparison itself sees the known ways of reading a body differently: were they
    forwarded, the views would differ."""
    body = json.loads(next(r for r in real_requests() if "/containers/create" in r[3])[4])
    legacy = {**body, "CpusetCpus": "0", "Memory": 5}
    legacy["HostConfig"] = {**body["HostConfig"], "Memory": 0}
    view = engine_decoder.view("/containers/create", json.dumps(legacy).encode())
    assert view["HostConfig"]["CpusetCpus"] == "0" and view["HostConfig"]["Memory"] == 5
    assert engine_view("/containers/create", view) != approved_view("/containers/create", legacy)
    # No HostConfig: every top-level host field is the host config.
    bare = {key: value for key, value in body.items() if key != "HostConfig"} | {"Privileged": True}
    assert engine_decoder.view("/containers/create", json.dumps(bare).encode())["HostConfig"]["Privileged"]
    # Two HostConfig keys: the engine merges both; Python would have kept the last only.
    duplicate = ('{"HostConfig": {"Privileged": true},' + json.dumps(body)[1:]).encode()
    assert engine_decoder.view("/containers/create", duplicate)["HostConfig"]["Privileged"] is True
    # Case and Unicode folding: the engine reads `privileged` and `Privileged` alike, and the
    # long s (U+017F) as an s.
    folded = copy.deepcopy(body)
    folded["HostConfig"]["\u017fecurityOpt"] = []
    folded["HostConfig"]["privileged"] = True
    view = engine_decoder.view("/containers/create", json.dumps(folded).encode())
    assert view["HostConfig"]["Privileged"] is True and view["HostConfig"]["SecurityOpt"] == []
    for document, raw in ((legacy, None), (bare, None), (body, duplicate), (folded, None)):
        sent = raw or json.dumps(document).encode()
        assert isinstance(
            ask_raw(policy_for(PLAIN), "POST", "/v1.41/containers/create?name=jhub-unit-user-ann", sent),
            Refused,
        )


# What a fuzzed field is set to: the values around the dangerous ones, of every JSON kind.
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 1024, 100_000, 2**31, 2**40]),
    st.sampled_from(["", "x", "/", "host", "0", "ALL", "/proc/self/fd/7", "no-new-privileges:true", "none"]),
    st.lists(st.sampled_from(["", "/:/host", "ALL", "SYS_ADMIN", "no-new-privileges:true"]), max_size=2),
    st.dictionaries(
        st.sampled_from(["Name", "Type", "/tmp", "a"]), st.sampled_from(["", "x", "bind"]), max_size=2
    ),
)


def _recase(name: str, how: int) -> str:
    return [name, name.lower(), name.upper(), name[:1].lower() + name[1:]][how % 4]


def _places(route: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The objects of a body a mutation may change, with the engine type each is."""
    if route == "/auth":
        return [("Auth", body)]
    if route == "/services/create":
        task = body.get("TaskTemplate") or {}
        container = task.get("ContainerSpec") or {}
        places = [("ServiceSpec", body), ("TaskSpec", task), ("ContainerSpec", container)]
        places += [("Mount", m) for m in container.get("Mounts") or [] if isinstance(m, dict)]
        limits = (task.get("Resources") or {}).get("Limits")
        return places + ([("ResourceLimits", limits)] if isinstance(limits, dict) else [])
    host = body.get("HostConfig") or {}
    # The top level is Config and, for the engine, the legacy HostConfig beside it.
    places = [("Top", body), ("HostConfig", host)]
    for mount in host.get("Mounts") or []:
        if isinstance(mount, dict):
            places.append(("Mount", mount))
            if isinstance(mount.get("VolumeOptions"), dict):
                places.append(("VolumeOptions", mount["VolumeOptions"]))
    return places


def fuzzed(corpus: list[tuple[PolicyDocument, str, str, bytes]], names: dict[str, list[str]]) -> Any:
    """A strategy: one of the corpus's requests, changed one to four times."""

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[int, str]:
        index = draw(st.integers(0, len(corpus) - 1))
        return index, _mutated(draw, corpus[index], names)

    return requests()


def _mutated(
    draw: st.DrawFn, case: tuple[PolicyDocument, str, str, bytes], names: dict[str, list[str]]
) -> str:
    _, _, target, raw = case
    body = json.loads(raw)
    route = "/" + target.split("?")[0].split("/", 2)[2]
    for _ in range(draw(st.integers(1, 4))):
        kind, place = draw(st.sampled_from(_places(route, body)))
        operation = draw(st.sampled_from(["set", "set", "delete", "recase"]))
        if operation == "set" or not place:
            fields = {
                "Top": names["Config"] + names["HostConfig"],
                "Auth": [
                    "username",
                    "password",
                    "email",
                    "serveraddress",
                    "identitytoken",
                    "registrytoken",
                    "auth",
                ],
            }.get(kind) or names[kind]
            name = _recase(draw(st.sampled_from(sorted(fields))), draw(st.integers(0, 3)))
            for existing in [k for k in place if k.lower() == name.lower()]:
                del place[existing]
            place[name] = draw(VALUES)
        elif operation == "delete":
            del place[draw(st.sampled_from(sorted(place)))]
        else:
            key = draw(st.sampled_from(sorted(place)))
            place[_recase(key, draw(st.integers(1, 3)))] = place.pop(key)
    return json.dumps(body)


def test_api_proxy_differential_fuzzed_requests_the_proxy_forwards_read_as_approved(
    engine_decoder: EngineDecoder,
) -> None:
    corpus = [(policy, method, target, raw) for _, policy, method, target, raw in real_requests()]
    names = engine_decoder.fields()
    counts = {"forwarded": 0, "refused": 0}

    @settings(
        max_examples=1500,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(fuzzed(corpus, names))
    def check(case: tuple[int, str]) -> None:
        # The case is the corpus entry's index and the changed body: a failure reads short.
        policy, method, target, _ = corpus[case[0]]
        decision = ask_raw(policy, method, target, case[1].encode())
        if isinstance(decision, Refused):
            counts["refused"] += 1
            return
        counts["forwarded"] += 1
        assert_read_alike(engine_decoder, decision.route, decision)

    check()
    print(f"differential: {counts['forwarded']} fuzzed requests forwarded, {counts['refused']} refused")
    # Both sides of the policy were exercised: fuzzing that only ever hit refusals proves nothing.
    assert counts["forwarded"] >= 100 and counts["refused"] >= 500, counts
