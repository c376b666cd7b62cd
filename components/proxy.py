"""configurable-http-proxy in its own container.

The proxy holds the routing table and carries all user traffic; the hub only programs it over
the REST API. Keeping it out of the hub container means a hub restart or replacement does not
cut users' connections to their servers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.host import DockerHost
from hub.contract import HUB_PORT
from plan.endpoints import API_PORT, PUBLIC_PORT
from plan.host import PublishedPort
from plan.naming import StackNames

TOKEN_FILE = "/run/jhub/proxy-auth-token"

# The token reaches the proxy as a file, so it is absent from `docker inspect`; CHP only
# reads it from the environment, hence this launcher (works on the upstream alpine image and
# on the tests' Debian stand-in alike: both have /bin/sh and configurable-http-proxy on PATH).
_LAUNCHER = f'CONFIGPROXY_AUTH_TOKEN="$(cat {TOKEN_FILE})" exec configurable-http-proxy "$@"'


@dataclass(frozen=True)
class ProxyArgs:
    host: DockerHost
    names: StackNames
    image: pulumi.Input[str]
    network: pulumi.Input[str]
    # network.isolation: the users network as well (the hub polls servers, the proxy routes
    # to them, servers call the hub's API by its name).
    users_network: pulumi.Input[str] | None
    # Published only without TLS; with TLS the edge is the only way in.
    publish: PublishedPort | None
    auth_token: pulumi.Output[str]
    # Behind the stack's TLS edge, the only client: its X-Forwarded-* headers pass as they are.
    behind_edge: bool = False


class Proxy(pulumi.ComponentResource):
    container: docker.Container
    container_id: pulumi.Output[str]

    def __init__(self, name: str, args: ProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:Proxy", name, None, opts)
        names, publish = args.names, args.publish
        hub_url = f"http://{names.hub}:{HUB_PORT}"
        container = args.host.container(
            self,
            f"{name}-container",
            name=names.proxy,
            role="proxy",
            image=args.image,
            entrypoints=["/bin/sh", "-c", _LAUNCHER, "configurable-http-proxy"],
            command=[
                "--ip=0.0.0.0",
                f"--port={PUBLIC_PORT}",
                "--api-ip=0.0.0.0",
                f"--api-port={API_PORT}",
                f"--default-target={hub_url}",
                f"--error-target={hub_url}/hub/error",
                # Behind the edge, the proxy adds no X-Forwarded-* of its own: it would append
                # "http" to the edge's "X-Forwarded-Proto: https", and tornado (the hub, the
                # servers) believes the last value. The edge replaces whatever a client sent.
                *(["--no-x-forward"] if args.behind_edge else []),
            ],
            uploads=[docker.ContainerUploadArgs(file=TOKEN_FILE, content=args.auth_token)],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=n)
                for n in (args.network, args.users_network)
                if n is not None
            ],
            ports=[]
            if publish is None
            else [docker.ContainerPortArgs(internal=PUBLIC_PORT, external=publish.port, ip=publish.address)],
        )
        self.container = container
        self.container_id = container.id
        self.register_outputs({"containerId": self.container_id})
