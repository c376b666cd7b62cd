"""The users network's firewall: a container on the Docker host that keeps the stack's iptables
rules (firewall/reconcile.py, rules in firewall/rules.py).

It runs where the engine runs, in the host's network namespace with NET_ADMIN and the engine's
socket, so the same rules apply on a remote Docker host. It is a reconciler, not a one-shot
command: the addresses it filters on (the hub's, the proxy's) change whenever those containers
are replaced, and the rules must follow without a `pulumi up`. Stopping it (destroy, replace)
removes the rules; the users network then still drops all traffic between its members.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.host import DockerHost, Healthcheck
from components.images import BuiltImage, BuiltImageArgs
from firewall.reconcile import APPLIED
from firewall.rules import chain_name
from host_scripts import wait_until_ready
from hub.contract import HUB_PORT
from plan.build import BuildSpec
from plan.naming import StackNames

WAIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class FirewallArgs:
    host: DockerHost
    names: StackNames
    build: BuildSpec
    users_network: pulumi.Input[str]
    egress_allow: tuple[str, ...]
    egress_deny: tuple[str, ...]


class Firewall(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource

    def __init__(self, name: str, args: FirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:Firewall", name, None, opts)
        host, names = args.host, args.names
        image = BuiltImage(
            f"{name}-image",
            BuiltImageArgs(host=host, spec=args.build, push=None),
            pulumi.ResourceOptions(parent=self),
        )
        self.container = host.container(
            self,
            f"{name}-container",
            name=names.firewall,
            role="firewall",
            # Healthy once the rules were written; `up` waits with `ready` below.
            healthcheck=Healthcheck(("test", "-f", str(APPLIED))),
            image=image.ref,
            # The host's stack: its iptables, and the users bridge's traffic.
            network_mode="host",
            # Named as they are read back (pulumi-docker's Go client adds the CAP_ prefix on create,
            # docker/docker client/container_create.go), so each refresh finds what the config
            # says, not a diff that replaces the firewall.
            capabilities=docker.ContainerCapabilitiesArgs(
                adds=["CAP_NET_ADMIN", "CAP_NET_RAW"], drops=["ALL"]
            ),
            volumes=[
                # It reads the users network (the bridge, the hub's and the proxy's addresses).
                docker.ContainerVolumeArgs(host_path=host.socket_path, container_path="/var/run/docker.sock")
            ],
            envs=pulumi.Output.from_input(args.users_network).apply(
                lambda network: [
                    f"JHUB_USERS_NETWORK={network}",
                    f"JHUB_PREFIX={names.prefix}",
                    f"JHUB_HUB={names.hub}",
                    f"JHUB_HUB_PORT={HUB_PORT}",
                    f"JHUB_TRUSTED={names.hub},{names.proxy}",
                    f"JHUB_EGRESS_ALLOW={json.dumps(list(args.egress_allow))}",
                    f"JHUB_EGRESS_DENY={json.dumps(list(args.egress_deny))}",
                ]
            ),
        )
        # The rules are written: what the hub is created after (it checks its running servers
        # when it starts). Again whenever the firewall is replaced.
        self.ready = wait_until_ready(
            f"{name}-ready",
            host.command_env,
            names.firewall,
            ["test", "-f", str(APPLIED)],
            "holding the stack's rules",
            WAIT_TIMEOUT_SECONDS,
            self.container.id,
            self,
        )
        self.register_outputs({"chain": chain_name(names.prefix)})
