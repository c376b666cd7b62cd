"""The firewall's rules, as pure functions of what the reconciler reads from the engine.

Users' servers share one bridge (the users network, created with inter-container traffic
off). Two chains per stack, each jumped to from the top of a built-in chain:

- `JHUB-<id>` from DOCKER-USER (FORWARD: traffic that crosses the host): the hub and the proxy
  may reach servers, servers may reach the hub's API port, nothing else on the bridge; traffic
  leaving the bridge goes on to Docker's own rules (the internet) unless it is for a private,
  link-local (cloud metadata) or denied range.
- `JHUB-<id>-IN` from INPUT (traffic for the Docker host itself, its gateway address on the
  bridge and every other address it has): servers open no connection to the host but DNS to
  the host's resolvers.

The hub's and the proxy's own traffic is never filtered: they are the stack, not users.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Every range a user must not reach unless the stack allows it: RFC 1918, carrier-grade NAT
# (RFC 6598), link-local (169.254.169.254, the cloud metadata service), and loopback (routed
# only if someone enabled route_localnet).
PRIVATE_RANGES = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
)
ESTABLISHED = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]


def chain_name(prefix: str) -> str:
    """The stack's forward chain: iptables allows 28 characters, a stack name may be longer,
    so a digest of the stack's name prefix (jhub-<stack>) keeps it short and per stack."""
    return "JHUB-" + hashlib.sha256(prefix.encode()).hexdigest()[:10]


def input_chain_name(prefix: str) -> str:
    return chain_name(prefix) + "-IN"


@dataclass(frozen=True)
class Topology:
    """The users network as the engine reports it now."""

    bridge: str  # the Linux bridge of the users network: br-<network id[:12]>
    trusted: tuple[str, ...]  # the IPv4 addresses of the hub and the proxy on it (when up)
    hub: str | None  # the hub's address, for servers -> hub API
    hub_port: int


def _ipv4_networks(values: Sequence[str]) -> list[str]:
    return [str(ipaddress.ip_network(value, strict=False)) for value in values]


def forward_rules(
    topology: Topology, allow: Sequence[str], deny: Sequence[str], resolvers: Sequence[str]
) -> list[list[str]]:
    """The forward chain, each rule as iptables arguments after `-A <chain>`."""
    bridge = topology.bridge
    inside = ["-i", bridge, "-o", bridge]
    rules: list[list[str]] = [
        ["-o", bridge, *ESTABLISHED, "-j", "ACCEPT"],
        ["-i", bridge, *ESTABLISHED, "-j", "ACCEPT"],
    ]
    # On the bridge: the hub (polls servers, DockerSpawner) and the proxy (user traffic) reach
    # servers; servers reach the hub's API; everything else between two members is dropped
    # (server to server, server to the proxy's API). ACCEPT, because Docker's own rule for a
    # network without inter-container traffic drops every packet on the bridge.
    rules += [[*inside, "-s", address, "-j", "ACCEPT"] for address in topology.trusted]
    if topology.hub is not None:
        rules.append(
            [*inside, "-d", topology.hub, "-p", "tcp", "--dport", str(topology.hub_port), "-j", "ACCEPT"]
        )
    rules.append([*inside, "-j", "DROP"])
    # Leaving the bridge: the stack's own containers go on to Docker's rules unfiltered.
    rules += [["-i", bridge, "-s", address, "-j", "RETURN"] for address in topology.trusted]
    rules += [["-i", bridge, "-d", network, "-j", "RETURN"] for network in _ipv4_networks(allow)]
    rules += _dns(bridge, resolvers, "RETURN")
    rules += [
        ["-i", bridge, "-d", network, "-j", "DROP"] for network in _ipv4_networks([*PRIVATE_RANGES, *deny])
    ]
    # The rest (the internet) returns to DOCKER-USER and on to Docker's rules, which accept it.
    return rules


def input_rules(topology: Topology, resolvers: Sequence[str]) -> list[list[str]]:
    """The input chain: servers open no connection to the host itself but DNS."""
    bridge = topology.bridge
    rules: list[list[str]] = [["-i", bridge, *ESTABLISHED, "-j", "RETURN"]]
    rules += [["-i", bridge, "-s", address, "-j", "RETURN"] for address in topology.trusted]
    rules += _dns(bridge, resolvers, "RETURN")
    rules.append(["-i", bridge, "-j", "DROP"])
    return rules


def _dns(bridge: str, resolvers: Sequence[str], target: str) -> list[list[str]]:
    """The host's resolvers, port 53: the engine's embedded DNS forwards users' lookups from
    their containers, so they cross the firewall as the users' own packets."""
    return [
        ["-i", bridge, "-d", f"{resolver}/32", "-p", protocol, "--dport", "53", "-j", target]
        for resolver in resolvers
        for protocol in ("udp", "tcp")
    ]


def resolvers_from(resolv_conf: str) -> list[str]:
    """The IPv4 nameservers of a resolv.conf, but loopback ones (not reachable from a bridge)."""
    found = []
    for line in resolv_conf.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                address = ipaddress.ip_address(parts[1])
            except ValueError:
                continue
            if address.version == 4 and not address.is_loopback:
                found.append(str(address))
    return found


def restore_input(chains: dict[str, list[list[str]]]) -> str:
    """An `iptables-restore --noflush` document that replaces `chains` in one transaction:
    declaring a chain flushes it, and the table is committed at once, so no packet ever sees
    a half-written chain."""
    lines = ["*filter", *(f":{chain} - [0:0]" for chain in chains)]
    for chain, rules in chains.items():
        lines += [" ".join(["-A", chain, *rule]) for rule in rules]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def bridge_name(network: Mapping[str, Any]) -> str:
    """The Linux bridge Docker made for a network (its inspect document)."""
    options = network.get("Options") or {}
    explicit = options.get("com.docker.network.bridge.name")
    return str(explicit) if explicit else "br-" + str(network["Id"])[:12]


def member_address(network: Mapping[str, Any], container_name: str) -> str | None:
    """A container's IPv4 address on the network, from the network's inspect document."""
    containers = network.get("Containers") or {}
    for member in containers.values():
        if member.get("Name") == container_name and member.get("IPv4Address"):
            return str(member["IPv4Address"]).split("/")[0]
    return None
