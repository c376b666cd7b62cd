"""Names and labels of every Docker object a stack owns.

Names carry the stack so that several stacks share one engine without colliding; labels carry
project and stack so that a destroy can find what DockerSpawner created at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL_PROJECT = "org.jupyterhub-docker.project"
LABEL_STACK = "org.jupyterhub-docker.stack"
# What an object is for: hub-data, user-server, user-home (what the destroy cleanup selects).
LABEL_ROLE = "org.jupyterhub-docker.role"


@dataclass(frozen=True)
class StackNames:
    project: str
    stack: str

    @property
    def prefix(self) -> str:
        # Image references must be lower case, and Docker names allow only [a-z0-9_.-] here.
        return "jhub-" + re.sub(r"[^a-z0-9_.-]", "-", self.stack.lower())

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def users_network(self) -> str:
        """Users' servers only, with the hub and the proxy (network.isolation)."""
        return f"{self.prefix}-users"

    @property
    def firewall(self) -> str:
        return f"{self.prefix}-firewall"

    @property
    def firewall_image(self) -> str:
        return f"{self.prefix}-firewall"

    @property
    def data_volume(self) -> str:
        return f"{self.prefix}-data"

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    @property
    def proxy(self) -> str:
        return f"{self.prefix}-proxy"

    @property
    def docker_api(self) -> str:
        """The Docker API proxy between the hub and the engine (components/api_proxy.py)."""
        return f"{self.prefix}-docker-api"

    @property
    def docker_api_network(self) -> str:
        """The internal network only the hub and the Docker API proxy join."""
        return f"{self.prefix}-docker-api-net"

    @property
    def edge(self) -> str:
        return f"{self.prefix}-edge"

    @property
    def edge_volume(self) -> str:
        """Caddy's certificates and ACME account."""
        return f"{self.prefix}-edge-data"

    @property
    def registry(self) -> str:
        return f"{self.prefix}-registry"

    @property
    def registry_volume(self) -> str:
        return f"{self.prefix}-registry-data"

    @property
    def hub_image(self) -> str:
        return f"{self.prefix}-hub"

    def notebook_repository(self, slug: str, registry: str | None) -> str:
        """Where a built notebook image is tagged: in the registry when there is one."""
        return f"{registry}/{self.prefix}/notebook-{slug}" if registry else f"{self.prefix}-notebook-{slug}"

    def shared_volume(self, name: str) -> str:
        """The Docker volume of shared folder `name` (stack-owned, CIFS or NFS)."""
        return f"{self.prefix}-shared-{name}"

    @property
    def user_container_prefix(self) -> str:
        """DockerSpawner names user containers `<this>-<escaped username>`."""
        return f"{self.prefix}-user"

    @property
    def user_volume_prefix(self) -> str:
        """Users' home volumes are `<this>-<escaped username>`."""
        return f"{self.prefix}-home"

    @property
    def cleanup_service(self) -> str:
        """The destroy's global service that cleans every node of a swarm (then is removed)."""
        return f"{self.prefix}-cleanup"

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_PROJECT: self.project, LABEL_STACK: self.stack}

    @property
    def label_filters(self) -> list[str]:
        """`docker ... --filter` arguments that select exactly this stack's objects."""
        return [f"label={key}={value}" for key, value in sorted(self.labels.items())]
