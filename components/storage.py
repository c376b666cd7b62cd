"""The data volume: the hub's sqlite database and cookie secret."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .host import DockerHost
from .naming import LABEL_ROLE, StackNames


@dataclass(frozen=True)
class DataVolumeArgs:
    host: DockerHost
    names: StackNames
    # A stack that keeps its data leaves the volume on the host when it is destroyed.
    keep_data: bool


class DataVolume(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: DataVolumeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:DataVolume", name, None, opts)
        self.name = args.host.volume(
            self,
            f"{name}-volume",
            name=args.names.data_volume,
            labels={**args.names.labels, LABEL_ROLE: "hub-data"},
            keep=args.keep_data,
        )
        self.register_outputs({"name": self.name})
