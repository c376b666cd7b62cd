"""The config of a stack on the test swarm (tests/peers/swarm): what tests/e2e/test_swarm.py
deploys, and what `python -m bench.burst --modes swarm` benchmarks, so both run the same stack.

The program reaches the manager over tcp:// with the node's client TLS; the stack's registry is
published on node1's address, which every node's engine trusts as a plain-HTTP registry; the
edge serves a self-signed certificate for DOMAIN (clients resolve it to node1's address and trust
the stack's `caCertificate` output).
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import free_port
from tests.peers.swarm.peer import Node, Swarm

DOMAIN = "swarm.test"
SPAWN_TIMEOUT = 300.0  # seconds: twelve servers on three nested engines on a 2-core machine


def swarm_config(cluster: Swarm, node: Node, registry_port: int, password: str) -> dict[str, Any]:
    """`secret_config` and `extra` of a shared-password stack (password `password`) managed
    through `node`, the manager, with its registry on node1 at `registry_port`."""
    return {
        "secret_config": {
            "auth.password": password,
            "dockerTls.ca": node.tls.ca,
            "dockerTls.cert": node.tls.cert,
            "dockerTls.key": node.tls.key,
        },
        "extra": {
            "dockerHost": f"tcp://{node.address}:2376",
            "orchestrator": "swarm",
            "network": {"isolation": False},
            "registry": {"enabled": True, "address": cluster.nodes[0].address, "port": registry_port},
            "tls": {"mode": "self-signed", "domain": DOMAIN},
            "publish": {"address": "0.0.0.0", "port": free_port(), "httpsPort": free_port()},
            "spawner": {"memLimit": "384M", "cpuLimit": 0.5, "startTimeout": int(SPAWN_TIMEOUT)},
        },
    }
