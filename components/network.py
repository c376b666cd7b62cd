"""The stack network: hub, proxy and every user server talk over it by name."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker

from .docker_inputs import label_inputs
from .host import DockerHost
from .naming import StackNames


class StackNetwork(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        host: DockerHost,
        names: StackNames,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:StackNetwork", name, None, opts)
        network = docker.Network(
            f"{name}-network",
            name=names.network,
            driver="bridge",
            labels=label_inputs(names.labels),
            opts=host.child_opts(self),
        )
        self.name: pulumi.Output[str] = network.name
        self.register_outputs({"name": self.name})
