"""The Docker API proxy: the only container of the stack with the engine's socket.

The hub reaches the engine through it (DOCKER_HOST), over an internal network that only the two
join: nothing else can reach it, and it reaches nothing but the socket. It runs the hub image's
`hub.docker_api_proxy` with the policy the program derives from the hub's own settings
(hub/api_proxy/docker_policy.py), so code running in the hub can start and stop this stack's user servers
and nothing else. Never published.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker_inputs import label_inputs
from components.host import DockerHost, Healthcheck
from hub.api_proxy.docker_policy import POLICY_FILE, PORT
from plan.naming import StackNames

# Listening is enough (it answers /_ping without a policy check): bash's /dev/tcp, not a Python
# process per probe, which the engine starts every interval for as long as the container lives.
_HEALTHCHECK = f"exec 3<>/dev/tcp/127.0.0.1/{PORT}"


def docker_host_url(names: StackNames) -> str:
    """The hub's DOCKER_HOST: the proxy by its fixed name (static, not the container's output,
    so a proxy replacement does not replace the hub: see plan/endpoints.py `api_url`)."""
    return f"tcp://{names.docker_api}:{PORT}"


@dataclass(frozen=True)
class DockerApiProxyArgs:
    host: DockerHost
    names: StackNames
    # The hub image: it ships the proxy and its policy module.
    image: pulumi.Input[str]
    policy_json: pulumi.Input[str]


class DockerApiProxy(pulumi.ComponentResource):
    network: pulumi.Output[str]
    container: docker.Container

    def __init__(
        self, name: str, args: DockerApiProxyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-docker:index:DockerApiProxy", name, None, opts)
        names, host = args.names, args.host
        network = docker.Network(
            f"{name}-network",
            name=names.docker_api_network,
            driver="bridge",
            # No route out: the proxy talks to the engine through the socket only.
            internal=True,
            labels=label_inputs(docker.NetworkLabelArgs, names.labels),
            opts=host.child_opts(self, delete_before_replace=True),
        )
        self.container = host.container(
            self,
            f"{name}-container",
            name=names.docker_api,
            role="docker-api",
            # No `wait`: the hub, created at the same time, asks for the engine's CPUs and
            # memory until the proxy answers (hub/servers.py), which takes it a second.
            healthcheck=Healthcheck(("bash", "-c", _HEALTHCHECK)),
            image=args.image,
            command=["python3", "-m", "hub.docker_api_proxy"],
            uploads=[docker.ContainerUploadArgs(file=POLICY_FILE, content=args.policy_json)],
            volumes=[
                docker.ContainerVolumeArgs(host_path=host.socket_path, container_path="/var/run/docker.sock")
            ],
            # It needs no capability: root owns the socket, and it listens above port 1024.
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
        )
        self.network = network.name
        self.register_outputs({"network": self.network})
