"""JupyterHubDeployment: the root component, wiring the graph of DESIGN.md together."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_random as random

from hub.contract import RegistrySettings

from .auth_config import AuthContext
from .caddyfile import render_caddyfile
from .config import StackConfig
from .docker_inputs import as_secret
from .edge import Edge
from .host import DockerHost
from .hub import WAIT_TIMEOUT_SECONDS, Hub
from .hub_settings import render_secrets, render_settings
from .images import BuiltImage, NotebookImage, RegistryPush
from .lifecycle import Readiness, UserServers
from .naming import StackNames
from .network import StackNetwork
from .plan import DeploymentPlan, plan_deployment
from .proxy import Proxy
from .proxy import api_url as proxy_api_url
from .proxy import public_target as proxy_public_target
from .registry import Registry
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
    ca_certificate: pulumi.Output[str] | None
    notebook_images: pulumi.Output[dict[str, str]]
    registry_server: str | None
    registry_images: pulumi.Output[list[str]]

    def __init__(self, name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:JupyterHubDeployment", name, None, opts)
        config, names = args.config, args.names
        self._name, self._config, self._names = name, config, names
        self._child = pulumi.ResourceOptions(parent=self)
        # Everything that can fail on bad input happens here, before the first resource.
        plan = plan_deployment(config, names, args.project_dir)
        self.url = plan.url
        self.docker_host = config.docker_host
        self.access = self._access(plan)

        host = self._host = DockerHost(
            f"{name}-host",
            config,
            names=names,
            # The proxy's image: every stack pulls it anyway, and it has /bin/sh for the probe.
            probe_image=config.images.resolved("proxy"),
            ports=plan.published_ports,
            opts=self._child,
        )
        network = StackNetwork(f"{name}-network", host, names, self._child)
        data = DataVolume(f"{name}-data", host, names, config.keep_data, self._child)
        hub_image = BuiltImage(f"{name}-hub-image", host, plan.hub_build, opts=self._child)
        registry = self._registry()
        notebooks = self._notebook_images(plan, registry)

        # The proxy's API token: generated once, kept encrypted in the state.
        token = random.RandomPassword(f"{name}-proxy-token", length=48, special=False, opts=self._child)
        proxy_token = as_secret(token.result)
        proxy = Proxy(
            f"{name}-proxy",
            host,
            names=names,
            image=host.probe_image,
            network=network.name,
            publish=None if config.tls.enabled else (config.publish, plan.http_port),
            auth_token=proxy_token,
            opts=self._child,
        )
        users = UserServers(
            f"{name}-user-servers",
            host,
            names=names,
            network=network.name,
            keep_data=config.keep_data,
            depends_on=[data],
            opts=self._child,
        )

        self.notebook_images = pulumi.Output.all(**{n: image.ref for n, image in notebooks.items()})
        default_name = plan.default_notebook.config.name
        registry_settings: RegistrySettings | None = (
            None if registry is None else {"server": registry.server, "username": config.registry.username}
        )
        auth_context = AuthContext(
            allowed_users_from_file=plan.allowed_users_from_file, callback_url=f"{self.url}hub/oauth_callback"
        )
        settings_json = self.notebook_images.apply(
            lambda images: json.dumps(
                render_settings(
                    config,
                    names,
                    notebook_images=images,
                    default_image=images[default_name],
                    proxy_api_url=proxy_api_url(names),
                    auth_context=auth_context,
                    registry=registry_settings,
                ),
                indent=2,
                sort_keys=True,
            )
        )
        secrets_json = as_secret(
            proxy_token.apply(lambda t: json.dumps(render_secrets(config, t), sort_keys=True))
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
            auth_ca_pem=plan.auth_ca_pem,
            wait_timeout=WAIT_TIMEOUT_SECONDS + config.auth.start_allowance_seconds,
            # The hub programs the proxy's routes when it starts.
            depends_on=[users, proxy.container],
            opts=self._child,
        )

        triggers: list[pulumi.Input[str]] = [hub.container_id, proxy.container_id]
        self.ca_certificate = None
        if config.tls.enabled:
            edge = self._edge(plan, network.name, proxy.container)
            triggers.append(edge.container_id)
        readiness = Readiness(
            f"{name}-readiness",
            health_url=f"{self.url}hub/health",
            connect_address=plan.local_address,
            ca_pem=self.ca_certificate,
            # Published only on a remote host's loopback: probe from the host itself.
            from_host=(host.command_env, hub_image.ref) if not plan.reachable_from_here else None,
            triggers=triggers,
            opts=self._child,
        )
        self.ready: pulumi.Output[str] = readiness.message
        self.admins = config.auth.admin_names
        self.network = network.name
        self.data_volume = data.name
        self.registry_server = None if registry is None else registry.server
        prefix = f"{self.registry_server}/"
        self.registry_images = self.notebook_images.apply(
            lambda refs: sorted(ref for ref in refs.values() if ref.startswith(prefix))
        )
        self.register_outputs({"url": self.url, "network": self.network, "dataVolume": self.data_volume})

    def _access(self, plan: DeploymentPlan) -> str:
        """How a person reaches the hub: the URL, or an SSH tunnel to a remote host's loopback."""
        target = self._config.ssh_target
        if plan.reachable_from_here or target is None:
            return f"open {plan.url}"
        user, address, port = target
        published = plan.http_port if not self._config.tls.enabled else self._config.publish.https_port
        tunnel = f"ssh -N -L {published}:127.0.0.1:{published} -p {port} {user}@{address}"
        return f"published on the Docker host's loopback only: run `{tunnel}`, then open {plan.url}"

    def _registry(self) -> Registry | None:
        config = self._config
        if not config.registry.enabled:
            return None
        return Registry(
            f"{self._name}-registry",
            self._host,
            names=self._names,
            config=config.registry,
            image=config.images.resolved("registry"),
            keep_data=config.keep_data,
            opts=self._child,
        )

    def _notebook_images(self, plan: DeploymentPlan, registry: Registry | None) -> dict[str, NotebookImage]:
        """One image per configured entry, each present on the host before the hub starts."""
        push = None
        if registry is not None:
            password = self._config.registry.password
            push = RegistryPush(
                server=registry.server,
                username=self._config.registry.username,
                password=None
                if password is None
                else as_secret(pulumi.Output.from_input(password.get_secret_value())),
                registry=registry.container,
            )
        return {
            notebook.config.name: NotebookImage(
                f"{self._name}-notebook-{notebook.slug}",
                self._host,
                pull=notebook.config.image,
                build=notebook.build,
                hub_version=plan.hub_version,
                push=push,
                opts=self._child,
            )
            for notebook in plan.notebooks
        }

    def _edge(self, plan: DeploymentPlan, network: pulumi.Output[str], proxy: pulumi.Resource) -> Edge:
        """The TLS edge, with the certificate the mode calls for."""
        tls, publish = self._config.tls, self._config.publish
        assert tls.domain is not None  # the config model guarantees a domain when TLS is on
        certificate: tuple[pulumi.Input[str], pulumi.Output[str]] | None = None
        if tls.mode == "self-signed":
            self_signed = SelfSignedCertificate(
                f"{self._name}-certificate", names=self._names, domain=tls.domain, opts=self._child
            )
            certificate = (self_signed.chain_pem, self_signed.key_pem)
            self.ca_certificate = self_signed.ca_cert_pem
        elif tls.mode == "manual":
            assert tls.certificate is not None and tls.key is not None
            certificate = (
                as_secret(pulumi.Output.from_input(tls.certificate.get_secret_value())),
                as_secret(pulumi.Output.from_input(tls.key.get_secret_value())),
            )
        return Edge(
            f"{self._name}-edge",
            self._host,
            names=self._names,
            image=self._config.images.resolved("edge"),
            network=network,
            domain=tls.domain,
            publish=publish,
            http_port=plan.http_port,
            caddyfile=render_caddyfile(tls, publish, proxy_public_target(self._names)),
            # Its ports may be the proxy's until the proxy's replacement unpublishes them.
            depends_on=[proxy],
            certificate=certificate,
            acme_ca_root_pem=plan.acme_ca_root_pem,
            keep_data=self._config.keep_data,
            opts=self._child,
        )
