"""Steps around the containers: destroy-time cleanup of user servers, and readiness."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.host import DockerHost
from host_scripts import PYTHON, run_script, script, source
from plan.naming import LABEL_ROLE, StackNames


@dataclass(frozen=True)
class UserServersArgs:
    host: DockerHost
    names: StackNames
    network: pulumi.Input[str]
    # network.isolation: where the servers are; it too must outlive the cleanup.
    users_network: pulumi.Input[str] | None
    keep_data: bool
    depends_on: tuple[pulumi.Resource, ...]
    # `swarm`: the servers are services over the swarm's nodes, the homes on each node.
    orchestrator: str = "docker"
    # Under Swarm: an image on every node with python3 (a notebook image), to clean each node in.
    cleanup_image: pulumi.Input[str] | None = None


def user_servers_environment(args: UserServersArgs) -> dict[str, pulumi.Input[str]]:
    """The cleanup script's environment. The Swarm settings are there only under Swarm, so the
    registered inputs of a stack on one engine stay as they were."""
    environment: dict[str, pulumi.Input[str]] = {
        **args.host.command_env,
        "JHUB_LABEL_FILTERS": json.dumps(args.names.label_filters),
        "JHUB_ROLE_LABEL": LABEL_ROLE,
        "JHUB_KEEP_DATA": "true" if args.keep_data else "false",
        # A data edge to the network, so the cleanup is ordered before its deletion.
        "JHUB_NETWORK": args.network,
        **({} if args.users_network is None else {"JHUB_USERS_NETWORK": args.users_network}),
    }
    if args.orchestrator == "swarm":
        if args.cleanup_image is None:
            raise ValueError("UserServers under Swarm needs cleanup_image (an image on every node)")
        environment.update(
            {
                "JHUB_ORCHESTRATOR": "swarm",
                "JHUB_CLEANUP_IMAGE": args.cleanup_image,
                "JHUB_CLEANUP_NAME": args.names.cleanup_service,
                "JHUB_NODE_CLEANUP_SCRIPT": source("node_cleanup"),
            }
        )
    return environment


def user_servers_script(args: UserServersArgs) -> str:
    """The delete script: under Swarm its own (the other's text stays as stacks registered it)."""
    return script("remove_user_servers_swarm" if args.orchestrator == "swarm" else "remove_user_servers")


class UserServers(pulumi.ComponentResource):
    """Owns, for Pulumi's sake, the containers and volumes DockerSpawner creates at run time.

    It has nothing to create. Its delete step removes them (under Swarm, on every node); the
    hub depends on it (so the hub is gone first and cannot spawn again) and it depends on the
    network and the data volume (so it runs before they are deleted: a network with containers
    attached cannot be removed).
    """

    cleanup: command.local.Command

    def __init__(self, name: str, args: UserServersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:UserServers", name, None, opts)
        self.cleanup = command.local.Command(
            f"{name}-cleanup",
            delete=user_servers_script(args),
            interpreter=PYTHON,
            environment=user_servers_environment(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({})


@dataclass(frozen=True)
class FromHost:
    """Probe on the Docker host itself: its docker CLI settings, and an image with python3 to
    run the probe in (on the host's network)."""

    command_env: dict[str, str]
    image: pulumi.Input[str]


@dataclass(frozen=True)
class ReadinessArgs:
    host: DockerHost
    # The hub container, watched while waiting: one that exits or restarts fails `up` at once.
    hub_container: str
    # Seconds the hub may take to answer (plan/endpoints.py WAIT_TIMEOUT_SECONDS, plus the auth
    # mode's allowance), after which `up` fails.
    timeout: int
    health_url: str
    # The public URL may name a domain that only resolves elsewhere: connect to the published
    # address, and present the URL's host (SNI, Host header).
    connect_address: str
    ca_pem: pulumi.Input[str] | None
    # Set when the hub is published only on a remote host's loopback.
    from_host: FromHost | None
    # Re-run whenever the hub, proxy or edge container is replaced.
    triggers: tuple[pulumi.Input[str], ...]


class Readiness(pulumi.ComponentResource):
    """`pulumi up` returns only once the hub answers through the public URL, and fails as soon
    as the hub container exits or restarts (host_scripts/wait_for_hub.py)."""

    message: pulumi.Output[str]

    def __init__(self, name: str, args: ReadinessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:Readiness", name, None, opts)
        environment: dict[str, pulumi.Input[str]] = {
            **args.host.command_env,
            "JHUB_HUB_CONTAINER": args.hub_container,
            "JHUB_HEALTH_URL": args.health_url,
            "JHUB_CONNECT_ADDRESS": args.connect_address,
            "JHUB_CA_PEM": args.ca_pem or "",
            "JHUB_READY_TIMEOUT": str(args.timeout),
        }
        if args.from_host is not None:
            environment.update(
                {
                    **args.from_host.command_env,
                    "JHUB_FROM_HOST_IMAGE": args.from_host.image,
                    "JHUB_PROBE_SCRIPT": script("wait_for_hub"),
                }
            )
        check = run_script(
            f"{name}-check",
            "wait_for_hub",
            environment,
            pulumi.ResourceOptions(parent=self),
            triggers=list(args.triggers),
        )
        self.message = check.stdout
        self.register_outputs({"message": self.message})
