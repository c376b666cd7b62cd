"""The hub: its container (JupyterHub with DockerSpawner, its settings and secrets uploaded) and its
data volume (the hub's sqlite database and cookie secret)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.host import DockerHost, Healthcheck
from hub.contract import AUTH_CA_FILE, DATA_DIR, HUB_PORT, SECRETS_FILE, SETTINGS_FILE
from plan.deployment_plan import HubFile
from plan.naming import LABEL_ROLE, StackNames

_HEALTHCHECK = (
    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{HUB_PORT}/hub/health', timeout=4)"
)
# The engine runs the healthcheck for as long as the hub lives, each probe a Python process
# started in the container (and runc exec calls by the engine): every 5 s that was most of an
# idle stack's CPU (bench/idle.py). It reports in `docker ps`; `up` does not wait on it.
HEALTHCHECK_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class HubArgs:
    host: DockerHost
    names: StackNames
    image: pulumi.Input[str]
    network: pulumi.Input[str]
    # network.isolation: the users network as well (the hub polls servers, the proxy routes
    # to them, servers call the hub's API by its name).
    users_network: pulumi.Input[str] | None
    # The internal network to the Docker API proxy, and the proxy's address (DOCKER_HOST): the
    # hub has no socket of its own.
    docker_api_network: pulumi.Input[str]
    docker_host_url: str
    data_volume: pulumi.Input[str]
    settings_json: pulumi.Input[str]
    # Secrets arrive as an uploaded file, not environment variables, so they appear neither in
    # `docker inspect` nor in the image; the upload's content is a secret Output end to end.
    secrets_json: pulumi.Output[str]
    auth_ca_pem: str | None
    # More files (branding): a change to one replaces the hub container, as uploads are ForceNew.
    files: tuple[HubFile, ...]
    # What must exist first: the user servers' cleanup (so the hub is deleted before it) and
    # the proxy (the hub programs its routes when it starts).
    depends_on: tuple[pulumi.Resource, ...]


class Hub(pulumi.ComponentResource):
    container_id: pulumi.Output[str]

    def __init__(self, name: str, args: HubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:Hub", name, None, opts)
        names = args.names
        uploads = [
            docker.ContainerUploadArgs(file=SETTINGS_FILE, content=args.settings_json),
            docker.ContainerUploadArgs(file=SECRETS_FILE, content=args.secrets_json),
        ]
        if args.auth_ca_pem:
            uploads.append(docker.ContainerUploadArgs(file=AUTH_CA_FILE, content=args.auth_ca_pem))
        uploads += [
            docker.ContainerUploadArgs(file=f.file, content=f.content, content_base64=f.content_base64)
            for f in args.files
        ]
        # No `wait`: the provider polls for "healthy", which the engine reports only after a
        # whole healthcheck interval. The readiness check waits for the hub instead, and fails
        # `up` as soon as the container exits or restarts (components/lifecycle.py).
        container = args.host.container(
            self,
            f"{name}-container",
            name=names.hub,
            role="hub",
            healthcheck=Healthcheck(
                ("python3", "-c", _HEALTHCHECK),
                interval_seconds=HEALTHCHECK_INTERVAL_SECONDS,
                start_period_seconds=60,
            ),
            depends_on=args.depends_on,
            image=args.image,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=n)
                for n in (args.network, args.docker_api_network, args.users_network)
                if n is not None
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=args.data_volume, container_path=DATA_DIR)],
            # DockerSpawner (docker-py) creates the user servers through the API proxy.
            envs=[f"DOCKER_HOST={args.docker_host_url}"],
            uploads=uploads,
        )
        self.container_id = container.id
        self.register_outputs({"containerId": self.container_id})


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
