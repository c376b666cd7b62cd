"""JupyterHubDeployment: the root component, wiring the graph of DESIGN.md together."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_random as random

from .auth_config import AnonymousAuth
from .caddyfile import render_caddyfile
from .config import StackConfig
from .config_files import read_acme_ca_root, read_allowed_users, read_auth_ca
from .docker_inputs import as_secret
from .edge import Edge
from .host import DockerHost
from .hub import Hub
from .images import BuildSpec, BuiltImage, NotebookImage, common_build_args, hub_jupyterhub_version
from .lifecycle import Readiness, UserServers
from .naming import StackNames
from .network import StackNetwork
from .proxy import Proxy
from .settings import hub_secrets, render_settings
from .storage import DataVolume
from .tls import SelfSignedCertificate


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
        tls_config, publish = config.tls, config.publish
        http_port = publish.http_port(tls_config)
        # Where Pulumi's machine reaches the published ports (readiness).
        local_address = "127.0.0.1" if publish.address == "0.0.0.0" else publish.address
        if tls_config.enabled:
            assert tls_config.domain is not None
            https_suffix = "" if publish.https_port == 443 else f":{publish.https_port}"
            self.url = f"https://{tls_config.domain}{https_suffix}/"
        else:
            self.url = f"http://{local_address}:{http_port}/"
        acme_root = read_acme_ca_root(tls_config, args.project_dir)

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
            publish=None if tls_config.enabled else (publish, http_port),
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

        self.ca_certificate: pulumi.Output[str] | None = None
        triggers: list[pulumi.Input[str]] = [hub.container_id, proxy.container_id]
        if tls_config.enabled:
            assert tls_config.domain is not None
            certificate: tuple[pulumi.Input[str], pulumi.Output[str]] | None = None
            if tls_config.mode == "self-signed":
                self_signed = SelfSignedCertificate(
                    f"{name}-certificate", names=names, domain=tls_config.domain, opts=child
                )
                certificate = (self_signed.chain_pem, self_signed.key_pem)
                self.ca_certificate = self_signed.ca_cert_pem
            elif tls_config.mode == "manual":
                assert tls_config.certificate is not None and tls_config.key is not None
                certificate = (
                    as_secret(pulumi.Output.from_input(tls_config.certificate.get_secret_value())),
                    as_secret(pulumi.Output.from_input(tls_config.key.get_secret_value())),
                )
            edge = Edge(
                f"{name}-edge",
                host,
                names=names,
                image=config.images.edge,
                network=network.name,
                domain=tls_config.domain,
                publish=publish,
                http_port=http_port,
                caddyfile=proxy.target.apply(lambda target: render_caddyfile(tls_config, publish, target)),
                certificate=certificate,
                acme_ca_root_pem=acme_root,
                keep_data=config.keep_data,
                opts=child,
            )
            triggers.append(edge.container_id)
        readiness = Readiness(
            f"{name}-readiness",
            health_url=f"{self.url}hub/health",
            connect_address=local_address,
            ca_pem=self.ca_certificate,
            triggers=triggers,
            opts=child,
        )
        self.ready: pulumi.Output[str] = readiness.message
        self.admins = [] if isinstance(config.auth, AnonymousAuth) else sorted(config.auth.admins)
        self.network = network.name
        self.data_volume = data.name
        self.register_outputs({"url": self.url, "network": self.network, "dataVolume": self.data_volume})
