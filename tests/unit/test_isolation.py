"""network.isolation: the firewall's rules from what it reads, the config's checks, the graph.

The rules are proven against the real kernel in tests/e2e/test_isolation.py; here, that each
input lands in the rule it should, in the order that makes it mean what the security model page says.
"""

from __future__ import annotations

from pathlib import Path

from config.stack import parse_stack_config
from firewall.rules import (
    PRIVATE_RANGES,
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
from tests.unit.conftest import BASE_CONFIG, preview
from tests.unit.test_config import SHARED, problems

ROOT = "jupyterhub"
HUB, PROXY = "172.30.0.2", "172.30.0.3"
TOPOLOGY = Topology(bridge="br-0123456789ab", trusted=(HUB, PROXY), hub=HUB, hub_port=8081)


def index(rules: list[list[str]], rule: list[str]) -> int:
    return rules.index(rule)


def test_isolation_on_the_bridge_only_the_hub_and_proxy_reach_servers_and_servers_only_the_hub_api() -> None:
    rules = forward_rules(TOPOLOGY, allow=[], deny=[], resolvers=[])
    inside = ["-i", "br-0123456789ab", "-o", "br-0123456789ab"]
    from_hub = index(rules, [*inside, "-s", HUB, "-j", "ACCEPT"])
    from_proxy = index(rules, [*inside, "-s", PROXY, "-j", "ACCEPT"])
    to_api = index(rules, [*inside, "-d", HUB, "-p", "tcp", "--dport", "8081", "-j", "ACCEPT"])
    drop = index(rules, [*inside, "-j", "DROP"])
    # Replies first, then the exceptions, then the drop of everything else on the bridge.
    assert rules[0][-1] == "ACCEPT" and "RELATED,ESTABLISHED" in rules[0]
    assert max(from_hub, from_proxy, to_api) < drop
    # No other ACCEPT on the bridge: not to the proxy's API port, not between two servers.
    assert [r for r in rules if r[:4] == inside and r[-1] == "ACCEPT"] == [
        rules[from_hub],
        rules[from_proxy],
        rules[to_api],
    ]


def test_isolation_without_the_hub_yet_the_bridge_is_closed_not_open() -> None:
    rules = forward_rules(Topology("br-x", trusted=(), hub=None, hub_port=8081), [], [], [])
    assert [r for r in rules if r[-1] == "ACCEPT" and "ESTABLISHED" not in ",".join(r)] == []
    assert ["-i", "br-x", "-o", "br-x", "-j", "DROP"] in rules


def test_isolation_egress_private_ranges_dropped_but_the_allow_list_dns_and_the_stack_itself() -> None:
    rules = forward_rules(TOPOLOGY, allow=["10.9.0.0/16"], deny=["203.0.113.0/24"], resolvers=["10.0.0.53"])
    bridge = TOPOLOGY.bridge
    drops = [r[3] for r in rules if r[:3] == ["-i", bridge, "-d"] and r[-1] == "DROP"]
    assert drops == [*PRIVATE_RANGES, "203.0.113.0/24"]
    assert "169.254.0.0/16" in drops  # the cloud metadata service
    first_drop = index(rules, ["-i", bridge, "-d", PRIVATE_RANGES[0], "-j", "DROP"])
    before = rules[:first_drop]
    # Returned to Docker's rules (the internet) before the drops: the allowed range, DNS to the
    # host's resolver, and anything the hub or the proxy send.
    assert ["-i", bridge, "-d", "10.9.0.0/16", "-j", "RETURN"] in before
    assert ["-i", bridge, "-d", "10.0.0.53/32", "-p", "udp", "--dport", "53", "-j", "RETURN"] in before
    assert ["-i", bridge, "-s", HUB, "-j", "RETURN"] in before
    assert ["-i", bridge, "-s", PROXY, "-j", "RETURN"] in before


def test_isolation_servers_open_no_connection_to_the_host_but_dns() -> None:
    rules = input_rules(TOPOLOGY, resolvers=["192.168.1.1"])
    bridge = TOPOLOGY.bridge
    assert rules[-1] == ["-i", bridge, "-j", "DROP"]
    assert ["-i", bridge, "-d", "192.168.1.1/32", "-p", "tcp", "--dport", "53", "-j", "RETURN"] in rules
    assert all(r[-1] == "RETURN" for r in rules[:-1])


def test_isolation_the_chains_are_replaced_in_one_transaction() -> None:
    document = restore_input({"JHUB-a": [["-i", "br-x", "-j", "DROP"]], "JHUB-a-IN": []})
    assert document == "*filter\n:JHUB-a - [0:0]\n:JHUB-a-IN - [0:0]\n-A JHUB-a -i br-x -j DROP\nCOMMIT\n"


def test_isolation_chain_names_fit_iptables_and_differ_per_stack() -> None:
    long = "jhub-" + "a-very-long-stack-name" * 3
    assert len(input_chain_name(long)) <= 28
    assert chain_name("jhub-one") != chain_name("jhub-two")


def test_isolation_what_the_firewall_reads_of_the_engine() -> None:
    network = {
        "Id": "0123456789abcdef",
        "Options": {"com.docker.network.bridge.enable_icc": "false"},
        "Containers": {"c1": {"Name": "jhub-s-hub", "IPv4Address": "172.30.0.2/16"}},
    }
    assert bridge_name(network) == "br-0123456789ab"
    assert bridge_name({**network, "Options": {"com.docker.network.bridge.name": "jhub0"}}) == "jhub0"
    assert member_address(network, "jhub-s-hub") == "172.30.0.2"
    assert member_address(network, "jhub-s-proxy") is None
    conf = "search x\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver fd00::1\n"
    assert resolvers_from(conf) == ["10.0.0.2"]


def test_isolation_config_cidrs_are_checked_and_named() -> None:
    config = parse_stack_config({"auth": SHARED, "network": {"egressAllow": ["10.9.0.0/16"]}}, {"auth"})
    assert config.network.isolation and config.network.egress_allow == ["10.9.0.0/16"]
    message = problems({"auth": SHARED, "network": {"egressDeny": ["203.0.113.0/33"]}})
    assert "network.egressDeny: '203.0.113.0/33' is not an IPv4 network in CIDR form" in message
    message = problems({"auth": SHARED, "network": {"egressAllow": ["10.9.0.1/16"]}})
    assert "network.egressAllow: '10.9.0.1/16' is not an IPv4 network" in message
    message = problems({"auth": SHARED, "network": {"isolation": False, "egressDeny": ["192.0.2.0/24"]}})
    assert "only apply with network.isolation: true" in message
    assert "network.isolaton: unknown setting" in problems({"auth": SHARED, "network": {"isolaton": True}})


def test_isolation_the_firewall_runs_on_the_host_network_before_the_hub(tmp_path: Path) -> None:
    result = preview(tmp_path)
    assert result.returncode == 0, result.stderr
    firewall = result.by_name(f"{ROOT}-firewall-container")
    inputs = firewall["inputs"]
    assert inputs["networkMode"] == "host"
    assert inputs["capabilities"] == {"adds": ["CAP_NET_ADMIN", "CAP_NET_RAW"], "drops": ["ALL"]}
    assert "ports" not in inputs or not inputs["ports"]
    assert "JHUB_USERS_NETWORK=jhub-unit-users" in inputs["envs"]
    users = result.by_name(f"{ROOT}-users-network-network")["inputs"]
    assert users["options"] == {"com.docker.network.bridge.enable_icc": "false"}
    # The hub waits for the rules, not for the container: the readiness step that sees them
    # written (host_scripts/wait_for_container.py), which waits for the container.
    hub = result.by_name(f"{ROOT}-hub-container")
    ready = result.by_name(f"{ROOT}-firewall-ready")
    assert ready["urn"] in hub["dependencies"]
    assert firewall["urn"] in ready["dependencies"]
    assert ready["inputs"]["environment"]["JHUB_CONTAINER"] == "jhub-unit-firewall"
    assert "wait" not in inputs, "the provider's wait is replaced by the readiness step"
    networks = [n["name"] for n in hub["inputs"]["networksAdvanced"]]
    assert networks == ["jhub-unit-net", "jhub-unit-docker-api-net", "jhub-unit-users"]
    # Destroy: the servers' cleanup runs before the users network goes (a data edge).
    cleanup = result.by_name(f"{ROOT}-user-servers-cleanup")
    assert result.by_name(f"{ROOT}-users-network-network")["urn"] in cleanup["dependencies"]
    proxy = result.by_name(f"{ROOT}-proxy-container")["inputs"]
    assert [n["name"] for n in proxy["networksAdvanced"]] == ["jhub-unit-net", "jhub-unit-users"]


def test_isolation_off_servers_share_the_stack_network_and_there_is_no_firewall(tmp_path: Path) -> None:
    result = preview(tmp_path, {**BASE_CONFIG, "jupyterhub-docker:network": {"isolation": False}})
    assert result.returncode == 0, result.stderr
    names = {r["name"] for r in result.resources}
    assert not {n for n in names if "firewall" in n or "users-network" in n}
