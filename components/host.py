"""The Docker host: one explicit provider for the whole stack.

Default providers are disabled in Pulumi.yaml, so a resource that forgets `provider=` fails
instead of silently landing on whatever DOCKER_HOST happens to point at.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker


class DockerHost(pulumi.ComponentResource):
    provider: docker.Provider

    def __init__(self, name: str, host: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:DockerHost", name, None, opts)
        self.host = host
        self.provider = docker.Provider(
            f"{name}-provider", host=host, opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"host": host})

    def child_opts(
        self,
        parent: pulumi.Resource,
        *,
        retain_on_delete: bool = False,
        delete_before_replace: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> pulumi.ResourceOptions:
        """Options for a Docker resource: on this host, under `parent`."""
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            retain_on_delete=retain_on_delete,
            delete_before_replace=delete_before_replace,
            depends_on=depends_on,
        )
