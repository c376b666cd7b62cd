"""SharedFolders: the Docker volumes behind `jupyterhub-docker:shared`, and the check that the
Docker host can mount every folder before the hub starts (host_scripts/check_mounts.py).

The hub mounts them into each user's server at start (hub/apply.py `shared_mount`); Pulumi
owns the volumes: a stack-owned one is kept with `keepData` like the homes, a CIFS/NFS one only
points at data that lives on its server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.docker_inputs import label_inputs
from components.host import DockerHost
from host_scripts import run_script
from plan.naming import LABEL_ROLE, StackNames
from plan.shared_folders import SharedFolderPlan

# The notebook images' user (uid 1000, as in docker-stacks and notebook/Dockerfile): owner of a
# stack-owned folder's top directory, so its writers can write.
NOTEBOOK_UID = "1000"


@dataclass(frozen=True)
class SharedFoldersArgs:
    host: DockerHost
    names: StackNames
    folders: tuple[SharedFolderPlan, ...]
    keep_data: bool


class SharedFolders(pulumi.ComponentResource):
    check: command.local.Command

    def __init__(
        self, name: str, args: SharedFoldersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-docker:index:SharedFolders", name, None, opts)
        host, names = args.host, args.names
        labels = {**names.labels, LABEL_ROLE: "shared"}
        volumes: list[pulumi.Output[str]] = []
        for folder in args.folders:
            if folder.kind == "volume":
                volumes.append(
                    host.volume(
                        self, f"{name}-{folder.name}", name=folder.source, labels=labels, keep=args.keep_data
                    )
                )
            elif folder.kind in ("cifs", "nfs"):
                options = dict(folder.driver_options)
                driver_opts: pulumi.Input[dict[str, str]] = (
                    pulumi.Output.secret(options) if folder.secret else options
                )
                # Every input of a volume replaces it (kreuzwerker resource_docker_volume.go, all
                # ForceNew); its data lives on the server, so a replacement loses nothing.
                volume = docker.Volume(
                    f"{name}-{folder.name}",
                    name=folder.source,
                    driver="local",
                    driver_opts=driver_opts,
                    labels=label_inputs(docker.VolumeLabelArgs, labels),
                    opts=host.child_opts(self, delete_before_replace=True),
                )
                volumes.append(volume.name)
        # Mount every folder once, from the Docker host, whenever the list changes (a change of
        # triggers replaces a Command, which runs it again).
        folders_json = json.dumps(
            [
                {
                    "key": f.key,
                    "kind": f.kind,
                    "type": "bind" if f.kind == "hostPath" else "volume",
                    "source": f.source,
                    "describe": f.describe,
                    "owned": f.kind == "volume",
                    "seed": f.seed,
                    "seedDigest": f.seed_digest,
                }
                for f in args.folders
            ],
            sort_keys=True,
        )
        self.check = run_script(
            f"{name}-check",
            "check_mounts",
            {
                **host.command_env,
                "JHUB_SHARED": folders_json,
                "JHUB_SHARED_OWNER": NOTEBOOK_UID,
                "JHUB_PROBE_IMAGE": host.probe_image,
                "JHUB_PROBE_NAME": f"{names.prefix}-mount-probe",
                # What no host directory may hold, and a link may not lead to.
                "JHUB_ENGINE_SOCKET": host.socket_path,
                # The volumes exist before the check mounts them.
                "JHUB_VOLUMES": pulumi.Output.all(*volumes).apply(lambda v: ",".join(v)),
            },
            triggers=[folders_json],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
