"""The TLS edge: Caddy terminates HTTPS, redirects HTTP, and proxies to configurable-http-proxy.

It is the only published container when TLS is on. Its certificates come from the stack
(self-signed, manual) or from an ACME CA (letsencrypt), kept on its own volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.host import DockerHost
from plan.caddyfile import (
    ACME_ROOT_FILE,
    CADDYFILE,
    CERT_FILE,
    DATA_DIR,
    EDGE_HTTP_PORT,
    EDGE_HTTPS_PORT,
    KEY_FILE,
)
from plan.host import PublishedPort
from plan.naming import LABEL_ROLE, StackNames


@dataclass(frozen=True)
class EdgeArgs:
    host: DockerHost
    names: StackNames
    image: str
    network: pulumi.Input[str]
    domain: str
    http: PublishedPort  # redirects to HTTPS (and answers ACME HTTP-01 challenges)
    https: PublishedPort
    caddyfile: str
    # (chain, key) for self-signed and manual certificates; none with letsencrypt.
    certificate: tuple[pulumi.Input[str], pulumi.Output[str]] | None
    acme_ca_root_pem: str | None
    keep_data: bool
    # Its ports may be the proxy's until the proxy's replacement unpublishes them.
    depends_on: tuple[pulumi.Resource, ...]


class Edge(pulumi.ComponentResource):
    container_id: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:Edge", name, None, opts)
        host, names = args.host, args.names
        pulled = host.pull(self, f"{name}-image", args.image)
        data = host.volume(
            self,
            f"{name}-data",
            name=names.edge_volume,
            labels={**names.labels, LABEL_ROLE: "edge-data"},
            keep=args.keep_data,
        )
        uploads = [docker.ContainerUploadArgs(file=CADDYFILE, content=args.caddyfile)]
        if args.certificate is not None:
            chain, key = args.certificate
            uploads += [
                docker.ContainerUploadArgs(file=CERT_FILE, content=chain),
                docker.ContainerUploadArgs(file=KEY_FILE, content=key),
            ]
        if args.acme_ca_root_pem is not None:
            uploads.append(docker.ContainerUploadArgs(file=ACME_ROOT_FILE, content=args.acme_ca_root_pem))
        container = host.container(
            self,
            f"{name}-container",
            name=names.edge,
            role="edge",
            depends_on=args.depends_on,
            image=pulled,
            command=["caddy", "run", "--config", CADDYFILE, "--adapter", "caddyfile"],
            envs=[f"XDG_DATA_HOME={DATA_DIR}", "XDG_CONFIG_HOME=/config"],
            # The domain is an alias on the stack network, so an ACME CA there reaches the edge
            # by name (as Let's Encrypt reaches it through public DNS).
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.network, aliases=[args.domain])
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=data, container_path=DATA_DIR)],
            uploads=uploads,
            ports=[
                docker.ContainerPortArgs(
                    internal=EDGE_HTTP_PORT, external=args.http.port, ip=args.http.address
                ),
                docker.ContainerPortArgs(
                    internal=EDGE_HTTPS_PORT, external=args.https.port, ip=args.https.address
                ),
            ],
        )
        self.container_id = container.id
        self.register_outputs({"containerId": self.container_id})
