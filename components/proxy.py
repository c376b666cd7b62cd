"""configurable-http-proxy in its own container.

The proxy holds the routing table and carries all user traffic; the hub only programs it over
the REST API. Keeping it out of the hub container means a hub restart or replacement does not
cut users' connections to their servers.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from hub.contract import HUB_PORT

from .config import PublishConfig
from .docker_inputs import STOP_GRACE_SECONDS, label_inputs
from .host import DockerHost
from .naming import LABEL_ROLE, StackNames

PUBLIC_PORT = 8000
API_PORT = 8001
TOKEN_FILE = "/run/jhub/proxy-auth-token"

# The token reaches the proxy as a file, so it is absent from `docker inspect`; CHP only
# reads it from the environment, hence this launcher (works on the upstream alpine image and
# on Debian's package alike: both have /bin/sh and configurable-http-proxy on PATH).
_LAUNCHER = f'CONFIGPROXY_AUTH_TOKEN="$(cat {TOKEN_FILE})" exec configurable-http-proxy "$@"'


def api_url(names: StackNames) -> str:
    """The proxy's REST API, by the container's fixed name.

    A static value, not the container's `name` output: the engine replaces, along with a
    delete-before-replace resource, every dependent whose inputs come from its outputs and
    whose diff would replace (pulumi/pulumi pkg/resource/deploy/step_generator.go,
    `calculateDependentReplacements`). The hub's settings and the edge's Caddyfile are
    uploads, which replace: an output here would tear both down with every proxy change.
    """
    return f"http://{names.proxy}:{API_PORT}"


def public_target(names: StackNames) -> str:
    """Where the TLS edge sends user traffic (static, for the same reason as `api_url`)."""
    return f"{names.proxy}:{PUBLIC_PORT}"


class Proxy(pulumi.ComponentResource):
    container: docker.Container

    def __init__(
        self,
        name: str,
        host: DockerHost,
        *,
        names: StackNames,
        image: pulumi.Input[str],
        network: pulumi.Input[str],
        publish: tuple[PublishConfig, int] | None,
        auth_token: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:Proxy", name, None, opts)
        hub_url = f"http://{names.hub}:{HUB_PORT}"
        container = docker.Container(
            f"{name}-container",
            name=names.proxy,
            image=image,
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
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            labels=label_inputs(docker.ContainerLabelArgs, {**names.labels, LABEL_ROLE: "proxy"}),
            # The container name is fixed, so a replacement must remove the old one first.
            opts=host.child_opts(self, delete_before_replace=True),
        )
        self.container = container
        self.container_id: pulumi.Output[str] = container.id
        self.register_outputs({"containerId": self.container_id})
