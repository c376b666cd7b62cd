"""The stack network: hub, proxy and every user server talk over it by name."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker_inputs import label_inputs
from components.host import DockerHost
from plan.naming import StackNames


@dataclass(frozen=True)
class StackNetworkArgs:
    host: DockerHost
    names: StackNames
    # orchestrator: swarm: an overlay spanning the swarm's nodes, attachable so the stack's
    # plain containers (hub, proxy, Docker API proxy) on the manager join it beside the users'
    # services (docs/swarm.md; proven by tests/e2e/test_swarm_peer.py).
    swarm: bool = False


class StackNetwork(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: StackNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:StackNetwork", name, None, opts)
        network = docker.Network(
            f"{name}-network",
            name=args.names.network,
            driver="overlay" if args.swarm else "bridge",
            attachable=True if args.swarm else None,
            labels=label_inputs(docker.NetworkLabelArgs, args.names.labels),
            # Every argument replaces a network (kreuzwerker: all ForceNew); its name is fixed,
            # so the old one must go first: Docker refuses a second network of that name.
            opts=args.host.child_opts(self, delete_before_replace=True),
        )
        self.name = network.name
        self.register_outputs({"name": self.name})


@dataclass(frozen=True)
class UsersNetworkArgs:
    host: DockerHost
    names: StackNames


class UsersNetwork(pulumi.ComponentResource):
    """Users' servers only, with the hub and the proxy (network.isolation).

    Inter-container traffic is off: Docker itself drops every packet between two members, so
    without the stack's firewall (which lets the hub and the proxy through) servers reach
    nothing on it: closed, not open.
    """

    name: pulumi.Output[str]

    def __init__(self, name: str, args: UsersNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:UsersNetwork", name, None, opts)
        network = docker.Network(
            f"{name}-network",
            name=args.names.users_network,
            driver="bridge",
            options={"com.docker.network.bridge.enable_icc": "false"},
            labels=label_inputs(docker.NetworkLabelArgs, args.names.labels),
            opts=args.host.child_opts(self, delete_before_replace=True),
        )
        self.name = network.name
        self.register_outputs({"name": self.name})
