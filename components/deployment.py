"""JupyterHubDeployment: the root component, wiring the graph of DESIGN.md together."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_random as random

from .auth_config import AnonymousAuth
from .auth_files import read_allowed_users, read_auth_ca
from .config import StackConfig
from .docker_inputs import as_secret
from .host import DockerHost
from .hub import Hub
from .images import BuildSpec, BuiltImage, NotebookImage, common_build_args, hub_jupyterhub_version
from .lifecycle import Readiness, UserServers
from .naming import StackNames
from .network import StackNetwork
from .proxy import Proxy
from .settings import hub_secrets, render_settings
from .storage import DataVolume


@dataclass(frozen=True)
class DeploymentArgs:
    config: StackConfig
    names: StackNames
    project_dir: Path


class JupyterHubDeployment(pulumi.ComponentResource):
    url: str
    admins: list[str]
    network: pulumi.Output[str]
    data_volume: pulumi.Output[str]

    def __init__(self, name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:JupyterHubDeployment", name, None, opts)
        config, names = args.config, args.names
        child = pulumi.ResourceOptions(parent=self)

        # Everything that can fail on bad input is computed before the first resource.
        build_args = common_build_args(config.images, args.project_dir)
        hub_version = hub_jupyterhub_version(args.project_dir)
        notebook_build = config.notebook.effective_build
        notebook_spec = (
            None
            if notebook_build is None
            else BuildSpec(
                repository=names.notebook_image,
                project_dir=args.project_dir,
                context=notebook_build.context,
                dockerfile=notebook_build.dockerfile,
                build_args={
                    **build_args,
                    "JUPYTERHUB_VERSION": hub_version,
                    **notebook_build.args,
                },
            )
        )

        hub_spec = BuildSpec(
            repository=names.hub_image,
            project_dir=args.project_dir,
            context="hub",
            build_args=build_args,
        )
        hub_spec.checked_context("hub")
        if notebook_spec is not None:
            notebook_spec.checked_context("notebook.build")
        allowed_from_file = read_allowed_users(config.auth, args.project_dir)
        auth_ca_pem = read_auth_ca(config.auth, args.project_dir)
        local_address = "127.0.0.1" if config.publish.address == "0.0.0.0" else config.publish.address
        self.url = f"http://{local_address}:{config.publish.port}/"

        host = DockerHost(f"{name}-host", config.docker_host, child)
        network = StackNetwork(f"{name}-network", host, names, child)
        data = DataVolume(f"{name}-data", host, names, config.keep_data, child)

        hub_image = BuiltImage(f"{name}-hub-image", host, hub_spec, child)
        notebook = NotebookImage(
            f"{name}-notebook-image",
            host,
            pull=config.notebook.image,
            build=notebook_spec,
            hub_version=hub_version,
            opts=child,
        )

        # The proxy's API token: generated once, kept encrypted in the state.
        token = random.RandomPassword(f"{name}-proxy-token", length=48, special=False, opts=child)
        proxy_token = as_secret(token.result)
        proxy = Proxy(
            f"{name}-proxy",
            host,
            names=names,
            image=config.images.proxy,
            network=network.name,
            publish=config.publish,
            auth_token=proxy_token,
            opts=child,
        )

        users = UserServers(
            f"{name}-user-servers",
            host,
            names=names,
            network=network.name,
            keep_data=config.keep_data,
            depends_on=[data],
            opts=child,
        )

        settings_json = pulumi.Output.all(notebook.ref, proxy.api_url).apply(
            lambda refs: json.dumps(
                render_settings(
                    config,
                    names,
                    notebook_image=refs[0],
                    proxy_api_url=refs[1],
                    public_url=self.url,
                    allowed_users=allowed_from_file,
                ),
                indent=2,
                sort_keys=True,
            )
        )
        secrets_json = as_secret(
            proxy_token.apply(lambda t: json.dumps(hub_secrets(config, t), sort_keys=True))
        )
        hub = Hub(
            f"{name}-hub",
            host,
            names=names,
            image=hub_image.ref,
            network=network.name,
            data_volume=data.name,
            settings_json=settings_json,
            secrets_json=secrets_json,
            auth_ca_pem=auth_ca_pem,
            depends_on=[users],
            opts=child,
        )

        readiness = Readiness(
            f"{name}-readiness",
            health_url=f"{self.url}hub/health",
            triggers=[hub.container_id, proxy.container_id],
            opts=child,
        )
        self.ready: pulumi.Output[str] = readiness.message
        self.admins = [] if isinstance(config.auth, AnonymousAuth) else sorted(config.auth.admins)
        self.network = network.name
        self.data_volume = data.name
        self.register_outputs({"url": self.url, "network": self.network, "dataVolume": self.data_volume})
