"""The data volume: the hub's sqlite database and cookie secret."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from .docker_inputs import label_inputs
from .host import DockerHost
from .naming import LABEL_ROLE, StackNames


class DataVolume(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        host: DockerHost,
        names: StackNames,
        keep_data: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:DataVolume", name, None, opts)
        # A stack that keeps its data leaves the volume on the host when it is destroyed
        # (retain, not protect: `pulumi destroy` of the stack must still succeed).
        volume = docker.Volume(
            f"{name}-volume",
            name=names.data_volume,
            labels=label_inputs(docker.VolumeLabelArgs, {**names.labels, LABEL_ROLE: "hub-data"}),
            opts=host.child_opts(self, retain_on_delete=keep_data),
        )
        self.name: pulumi.Output[str] = volume.name
        self.register_outputs({"name": self.name})
