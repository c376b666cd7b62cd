"""Network isolation, seen from inside a user's real server: it reaches the hub's API and the
internet, not another user's server, not the proxy, not the Docker API proxy, not the Docker
host, not cloud metadata; the hub still spawns and the proxy still serves; destroy leaves no
firewall rule behind.

One stack for the module. Every connection has a 2 s timeout; each blocked target has a
positive control (the same listener or port answers someone who is allowed), so the test fails
both when isolation is missing and when it blocks too much.
"""

from __future__ import annotations

import ast
import contextlib
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest

from firewall.rules import chain_name
from hub.api_proxy.docker_policy import PORT as DOCKER_API_PORT
from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory, stack_objects
from tests.e2e.hubclient import HubUser
from tests.e2e.polling import eventually

NOTHING: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}
BACKENDS = ("iptables-nft", "iptables-legacy")
PUBLIC = ("pypi.org", 443)  # reachable from this machine (docs: ENVIRONMENT.md)
# Run in a user's kernel: one connection attempt per target, "open" or why not.
PROBE = """
import json, os, socket, urllib.request
def attempt(host, port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        return "open"
    except socket.timeout:
        return "timeout"
    except OSError as error:
        return "error %s" % error.errno
    finally:
        s.close()
def api():
    with urllib.request.urlopen(os.environ["JUPYTERHUB_API_URL"] + "/", timeout=5) as response:
        return response.status, json.load(response).get("version")
({name: attempt(host, port) for name, (host, port) in TARGETS.items()}, api())
"""
# Run in the hub container (trusted): the same socket code, as a positive control.
HUB_PROBE = """
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("open")
except OSError as error:
    print("closed", error)
"""


def iptables_rules() -> str:
    """Every rule of the filter table, in both backends (the engine uses one of them)."""
    return "\n".join(
        subprocess.run([backend, "-S"], capture_output=True, text=True, check=False).stdout
        for backend in BACKENDS
    )


def host_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.200", 9))
        return str(probe.getsockname()[0])


@dataclass
class Isolated:
    stack: Deployment
    rules_before: str
    ada: HubUser
    bo: HubUser
    listeners: dict[str, tuple[str, int]]
    bridge: str


@contextlib.contextmanager
def listening(addresses: list[str]) -> Iterator[dict[str, tuple[str, int]]]:
    """A TCP listener on the Docker host per address (the kernel completes the handshake)."""
    sockets = []
    try:
        found = {}
        for address in addresses:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, 0))
            listener.listen(16)
            sockets.append(listener)
            found[address] = (address, listener.getsockname()[1])
        yield found
    finally:
        for listener in sockets:
            listener.close()


def start(stack: Deployment, name: str) -> HubUser:
    person = HubUser(stack.url, name)
    assert person.login(USER_PASSWORD).status_code == 200
    person.start_server()
    return person


def address_on(engine: docker.DockerClient, container: str, network: str) -> str:
    return str(engine.containers.get(container).attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


@pytest.fixture(scope="module")
def isolated(make_stack: StackFactory, engine: docker.DockerClient) -> Iterator[Isolated]:
    stack = make_stack(
        {"type": "shared-password", "allowAll": True},
        secret_config={"auth.password": USER_PASSWORD},
        deploy=False,
    )
    rules_before = iptables_rules()
    stack.up()
    users = engine.networks.get(f"{stack.prefix}-users")
    gateway = users.attrs["IPAM"]["Config"][0]["Gateway"]
    bridge = "br-" + users.id[:12]
    ada, bo = start(stack, "ada"), start(stack, "bo")
    with listening([gateway, host_address()]) as listeners:
        yield Isolated(stack, rules_before, ada, bo, listeners, bridge)
    if not stack.destroyed:
        stack.destroy()


def probe_from(
    person: HubUser, targets: dict[str, tuple[str, int]]
) -> tuple[dict[str, str], tuple[int, str]]:
    code = f"TARGETS = {targets!r}\n{PROBE}"
    result: tuple[dict[str, str], tuple[int, str]] = ast.literal_eval(person.run_code(code, timeout=90))
    return result


def hub_reaches(engine: docker.DockerClient, stack: Deployment, host: str, port: int) -> str:
    hub = engine.containers.get(f"{stack.prefix}-hub")
    result = hub.exec_run(["python3", "-c", HUB_PROBE, host, str(port)])
    return str(result.output.decode().strip())


def test_isolation_a_server_reaches_the_hub_api_and_the_internet_but_no_one_else(
    isolated: Isolated, engine: docker.DockerClient
) -> None:
    stack, users = isolated.stack, f"{isolated.stack.prefix}-users"
    bo_address = address_on(engine, f"{stack.prefix}-user-bo", users)
    proxy_address = address_on(engine, f"{stack.prefix}-proxy", users)
    api_proxy = address_on(engine, f"{stack.prefix}-docker-api", f"{stack.prefix}-docker-api-net")
    (gateway, gateway_port), (host, host_port) = isolated.listeners.values()
    blocked = {
        "bo's server": (bo_address, 8888),
        "the proxy's API": (proxy_address, 8001),
        "the proxy's public port": (proxy_address, 8000),
        "the Docker API proxy": (api_proxy, DOCKER_API_PORT),
        "the host on the users gateway": (gateway, gateway_port),
        "the host's own address": (host, host_port),
        "cloud metadata": ("169.254.169.254", 80),
    }
    results, (api_status, version) = probe_from(isolated.ada, {**blocked, "the internet": PUBLIC})
    assert {name: results[name] for name in blocked if results[name] == "open"} == {}, results
    assert results["the internet"] == "open", results
    # JUPYTERHUB_API_URL names the hub by name, on the users network: it answers.
    assert api_status == 200 and version

    # Positive controls: every blocked target answers the hub, which is allowed.
    for name in (
        "bo's server",
        "the proxy's API",
        "the Docker API proxy",
        "the host on the users gateway",
        "the host's own address",
    ):
        assert hub_reaches(engine, stack, *blocked[name]) == "open", name


def test_isolation_each_server_still_works_through_the_proxy_and_spawning_still_works(
    isolated: Isolated,
) -> None:
    assert isolated.bo.run_code("6 * 7") == "42"
    assert isolated.ada.run_code("'ada' * 2") == "'adaada'"
    # A third person's first spawn, after the rules exist: the hub reaches the new server.
    cy = start(isolated.stack, "cy")
    assert cy.server_get("lab").status_code == 200


def test_isolation_the_firewall_holds_the_rules_and_follows_a_changed_deny_list(
    isolated: Isolated, engine: docker.DockerClient
) -> None:
    chain = chain_name(isolated.stack.prefix)
    rules = iptables_rules()
    assert f"-A DOCKER-USER -j {chain}" in rules and f"-A INPUT -j {chain}-IN" in rules
    assert f"-i {isolated.bridge} -o {isolated.bridge} -j DROP" in rules
    firewall = engine.containers.get(f"{isolated.stack.prefix}-firewall").attrs
    assert firewall["HostConfig"]["NetworkMode"] == "host" and not firewall["HostConfig"]["PortBindings"]
    # A public address denied by config: the firewall is replaced and the server loses it.
    public = socket.gethostbyname(PUBLIC[0])
    isolated.stack.configure(network={"egressDeny": [f"{public}/32"]})
    isolated.stack.up()
    eventually(
        lambda: probe_from(isolated.ada, {"denied": (public, PUBLIC[1])})[0]["denied"] != "open",
        timeout=30,
        what=f"{public} denied to ada's server",
    )
    assert isolated.bo.run_code("1 + 1") == "2"


def test_isolation_destroy_removes_the_firewall_rules_and_leaves_nothing(
    isolated: Isolated, engine: docker.DockerClient
) -> None:
    chain = chain_name(isolated.stack.prefix)
    isolated.stack.destroy()
    after = iptables_rules()
    assert chain not in after
    assert isolated.bridge not in after
    ours = [line for line in isolated.rules_before.splitlines() if chain in line]
    assert ours == []  # nothing of this stack before either: the comparison means something
    assert stack_objects(engine, isolated.stack.spec.name) == NOTHING
