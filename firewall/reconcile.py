"""The firewall's loop: read the users network from the engine, keep the stack's chains equal to
firewall/rules.py's, remove them on SIGTERM.

It runs in the host's network namespace (network_mode host, NET_ADMIN) with the engine's
socket, on whatever host the stack deploys to, so a remote Docker host gets the same rules.
Addresses are read at run time, on every event of the users network and every five seconds: the hub and the
proxy get new ones whenever they are replaced, and until the hub is known its rules are simply
absent (servers reach nothing on the bridge: closed, not open).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from firewall.rules import (
    Topology,
    bridge_name,
    chain_name,
    forward_rules,
    input_chain_name,
    input_rules,
    member_address,
    resolvers_from,
    restore_input,
)

SOCKET = "/var/run/docker.sock"
# The healthcheck's file: the rules were written once (the hub starts only after).
APPLIED = Path("/run/jhub-firewall/applied")
# Before reconnecting to the engine's event stream after it broke.
INTERVAL = 1.0
# The fallback when no event came: events carry the changes that matter (the hub and the
# proxy joining the users network), so a slow poll costs nothing but the time to notice a
# missed event, and spares an idle stack an inspect and a rules comparison every few seconds.
POLL = 30.0
# Written again at this interval even when nothing changed: a chain flushed by hand is
# repaired within it. (An engine restart restarts this container too, which writes at once.)
# Not shorter: on an engine with many stacks, every firewall's rewrite costs CPU that the
# stacks' spawns need (measured in the test suite: twenty stacks on two cores).
REFRESH = 60.0
BACKENDS = ("iptables-nft", "iptables-legacy")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None = 10) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def watch_network_events(network: str, wake: threading.Event) -> None:
    """Wake the loop on the users network's events (a container connected or disconnected):
    the hub joins it before its process starts, so its rules are written before it first calls
    the proxy, not up to a poll interval later. Only this network's: on an engine with several
    stacks, every other stack's containers would wake every firewall. The poll stays as the
    fallback."""
    # The engine matches `network` against the event's network ID or name (moby
    # daemon/events/filter.go `matchNetwork`).
    filters = urllib.parse.quote(json.dumps({"type": ["network"], "network": [network]}))
    while True:
        try:
            connection = _UnixConnection(SOCKET, timeout=None)
            connection.request("GET", f"/events?filters={filters}")
            response = connection.getresponse()
            while response.readline():
                wake.set()
        except (OSError, http.client.HTTPException) as error:
            print(f"firewall: engine events: {error}", file=sys.stderr)
        time.sleep(INTERVAL)


def inspect_network(name: str) -> dict[str, Any] | None:
    connection = _UnixConnection(SOCKET)
    try:
        connection.request("GET", f"/networks/{urllib.parse.quote(name, safe='')}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status == 404:
        return None
    if response.status != 200:
        raise RuntimeError(f"inspecting network {name}: HTTP {response.status} {body[:200]!r}")
    document: dict[str, Any] = json.loads(body)
    return document


def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=check)


def pick_backend(bridge: str) -> str | None:
    """The iptables the engine writes with: both backends are evaluated by the kernel, and an
    ACCEPT in one does not undo Docker's DROP in the other. The one whose FORWARD rules name the
    users bridge (Docker adds rules per bridge), else the one that has DOCKER-USER."""
    with_user_chain = []
    for backend in BACKENDS:
        forward = run(backend, "-S", "FORWARD", check=False)
        if forward.returncode == 0 and bridge in forward.stdout.split():
            return backend
        if run(backend, "-S", "DOCKER-USER", check=False).returncode == 0:
            with_user_chain.append(backend)
    return with_user_chain[0] if with_user_chain else None


class Firewall:
    def __init__(self, environ: dict[str, str]) -> None:
        self.network = environ["JHUB_USERS_NETWORK"]
        prefix = environ["JHUB_PREFIX"]
        self.chain, self.input_chain = chain_name(prefix), input_chain_name(prefix)
        self.trusted_names = tuple(n for n in environ["JHUB_TRUSTED"].split(",") if n)
        self.hub_name = environ["JHUB_HUB"]
        self.hub_port = int(environ["JHUB_HUB_PORT"])
        self.allow = json.loads(environ.get("JHUB_EGRESS_ALLOW", "[]"))
        self.deny = json.loads(environ.get("JHUB_EGRESS_DENY", "[]"))
        self.resolvers = resolvers_from(Path("/etc/resolv.conf").read_text())
        self.backend: str | None = None
        self.applied, self.written_at, self.said_no_backend = "", 0.0, False

    def topology(self) -> Topology | None:
        network = inspect_network(self.network)
        if network is None:
            return None
        trusted = tuple(
            address for name in self.trusted_names if (address := member_address(network, name)) is not None
        )
        return Topology(
            bridge=bridge_name(network),
            trusted=trusted,
            hub=member_address(network, self.hub_name),
            hub_port=self.hub_port,
        )

    def document(self, topology: Topology) -> str:
        return restore_input(
            {
                self.chain: forward_rules(topology, self.allow, self.deny, self.resolvers),
                self.input_chain: input_rules(topology, self.resolvers),
            }
        )

    def apply(self, document: str) -> None:
        assert self.backend is not None
        run(f"{self.backend}-restore", "--noflush", stdin=document)
        # The jumps come after the chains exist; first in their built-in chains, so no rule
        # of anyone else's accepts a user's packet before ours see it.
        for parent, chain in (("DOCKER-USER", self.chain), ("INPUT", self.input_chain)):
            listed = run(self.backend, "-S", parent).stdout.splitlines()
            jump = f"-A {parent} -j {chain}"
            if len(listed) < 2 or listed[1] != jump:
                while run(self.backend, "-D", parent, "-j", chain, check=False).returncode == 0:
                    pass
                run(self.backend, "-I", parent, "1", "-j", chain)

    def reconcile(self) -> None:
        """One pass: write the rules when they changed, or when the last write is old."""
        topology = self.topology()
        if topology is None:
            return  # the users network is not there (yet): nothing to filter
        if self.backend is None:
            self.backend = pick_backend(topology.bridge)
            if self.backend is None:
                if not self.said_no_backend:
                    print(
                        "firewall: no iptables backend has the DOCKER-USER chain (an engine with "
                        '"iptables": false?); nothing written, so the hub will not start',
                        file=sys.stderr,
                    )
                    self.said_no_backend = True
                return
            print(f"firewall: {topology.bridge} with {self.backend}")
        document = self.document(topology)
        if document == self.applied and time.monotonic() - self.written_at < REFRESH:
            return
        self.apply(document)
        if document != self.applied:
            print(f"firewall: rules for {topology}")
        self.applied, self.written_at = document, time.monotonic()
        APPLIED.parent.mkdir(parents=True, exist_ok=True)
        APPLIED.touch()

    def remove(self) -> None:
        """The stack's jumps and chains, in every backend (a stale set from an earlier run on
        another backend too). Idempotent."""
        for backend in BACKENDS:
            for parent, chain in (("DOCKER-USER", self.chain), ("INPUT", self.input_chain)):
                while run(backend, "-D", parent, "-j", chain, check=False).returncode == 0:
                    pass
                if run(backend, "-F", chain, check=False).returncode == 0:
                    run(backend, "-X", chain, check=False)


def main() -> int:
    firewall = Firewall(dict(os.environ))
    stop, wake = threading.Event(), threading.Event()

    def stopping(*_: object) -> None:
        stop.set()
        wake.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    threading.Thread(target=watch_network_events, args=(firewall.network, wake), daemon=True).start()
    firewall.remove()  # what a killed predecessor left
    print(f"firewall: chains {firewall.chain}, {firewall.input_chain}; resolvers {firewall.resolvers}")
    try:
        while not stop.is_set():
            try:
                firewall.reconcile()
            except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
                detail = getattr(error, "stderr", "") or ""
                print(f"firewall: {error} {detail}".strip(), file=sys.stderr)
            wake.wait(POLL)
            wake.clear()
    finally:
        firewall.remove()
        print("firewall: rules removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
