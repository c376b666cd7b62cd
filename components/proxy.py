"""configurable-http-proxy in its own container.

The proxy holds the routing table and carries all user traffic; the hub only programs it over
the REST API. Keeping it out of the hub container means a hub restart or replacement does not
cut users' connections to their servers.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from .config import PublishConfig
from .docker_inputs import label_inputs
from .host import DockerHost
from .naming import LABEL_ROLE, StackNames

PUBLIC_PORT = 8000
API_PORT = 8001
TOKEN_FILE = "/run/jhub/proxy-auth-token"

# The token reaches the proxy as a file, so it is absent from `docker inspect`; CHP only
# reads it from the environment, hence this launcher (works on the upstream alpine image and
# on Debian's package alike: both have /bin/sh and configurable-http-proxy on PATH).
_LAUNCHER = f'CONFIGPROXY_AUTH_TOKEN="$(cat {TOKEN_FILE})" exec configurable-http-proxy "$@"'


class Proxy(pulumi.ComponentResource):
    api_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        host: DockerHost,
        *,
        names: StackNames,
        image: str,
        network: pulumi.Input[str],
        publish: tuple[PublishConfig, int] | None,
        auth_token: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:Proxy", name, None, opts)
        pulled = host.pull(self, f"{name}-image", image)
        hub_url = f"http://{names.hub}:8081"
        container = docker.Container(
            f"{name}-container",
            name=names.proxy,
            image=pulled,
            entrypoints=["/bin/sh", "-c", _LAUNCHER, "configurable-http-proxy"],
            command=[
                "--ip=0.0.0.0",
                f"--port={PUBLIC_PORT}",
                "--api-ip=0.0.0.0",
                f"--api-port={API_PORT}",
                f"--default-target={hub_url}",
                f"--error-target={hub_url}/hub/error",
            ],
            uploads=[docker.ContainerUploadArgs(file=TOKEN_FILE, content=auth_token)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network)],
            # Published only without TLS; with TLS the edge is the only way in.
            ports=[]
            if publish is None
            else [docker.ContainerPortArgs(internal=PUBLIC_PORT, external=publish[1], ip=publish[0].address)],
            restart="unless-stopped",
            labels=label_inputs(docker.ContainerLabelArgs, {**names.labels, LABEL_ROLE: "proxy"}),
            # The container name is fixed, so a replacement must remove the old one first.
            opts=host.child_opts(self, delete_before_replace=True),
        )
        self.container_id: pulumi.Output[str] = container.id
        self.api_url = container.name.apply(lambda n: f"http://{n}:{API_PORT}")
        self.target = container.name.apply(lambda n: f"{n}:{PUBLIC_PORT}")
        self.register_outputs({"apiUrl": self.api_url})
