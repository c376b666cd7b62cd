"""The data volume: the hub's sqlite database and cookie secret."""

from __future__ import annotations

import pulumi

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
        # A stack that keeps its data leaves the volume on the host when it is destroyed.
        self.name: pulumi.Output[str] = host.volume(
            self,
            f"{name}-volume",
            name=names.data_volume,
            labels={**names.labels, LABEL_ROLE: "hub-data"},
            keep=keep_data,
        )
        self.register_outputs({"name": self.name})
