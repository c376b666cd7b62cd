"""JupyterHubDeployment: the root component, wiring the graph (docs/architecture.md).

It only wires resources: everything that can fail on bad input already happened in the plan
step (plan/deployment_plan.py), before this component registered.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_random as random

from components.api_proxy import DockerApiProxy, DockerApiProxyArgs, docker_host_url
from components.docker_inputs import as_secret
from components.edge import Edge, EdgeArgs
from components.firewall import Firewall, FirewallArgs
from components.host import DockerHost
from components.hub import DataVolume, DataVolumeArgs, Hub, HubArgs
from components.images import BuiltImage, BuiltImageArgs, NotebookImage, NotebookImageArgs, RegistryPush
from components.lifecycle import FromHost, Readiness, ReadinessArgs, UserServers, UserServersArgs
from components.network import StackNetwork, StackNetworkArgs, UsersNetwork, UsersNetworkArgs
from components.proxy import Proxy, ProxyArgs
from components.registry import Registry, RegistryArgs
from components.self_signed import SelfSignedCertificate, SelfSignedCertificateArgs
from components.shared import SharedFolders, SharedFoldersArgs
from host_scripts import run_script
from hub.api_proxy.docker_policy import policy_document
from plan.deployment_plan import DeploymentPlan
from plan.hub_settings import GENERATED_SECRETS, secrets_document, settings_document


class JupyterHubDeployment(pulumi.ComponentResource):
    url: str
    access: str
    docker_host: str
    admins: list[str]
    network: pulumi.Output[str]
    data_volume: pulumi.Output[str]
    ready: pulumi.Output[str]
    notebook_images: pulumi.Output[dict[str, str]]
    # Set only for the modes that have them: the outputs `registry` and `caCertificate`.
    registry_server: str | None
    registry_images: pulumi.Output[list[str]]
    ca_certificate: pulumi.Output[str] | None

    def __init__(self, name: str, args: DeploymentPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:JupyterHubDeployment", name, None, opts)
        plan, names = args, args.names
        child = pulumi.ResourceOptions(parent=self)
        host = DockerHost(f"{name}-host", plan.host, child)
        network = StackNetwork(
            f"{name}-network", StackNetworkArgs(host=host, names=names, swarm=plan.swarm), child
        )
        users_network, firewall = self._isolation(name, plan, host)
        data = DataVolume(
            f"{name}-data", DataVolumeArgs(host=host, names=names, keep_data=plan.keep_data), child
        )
        hub_image, registry, notebooks = self._images(name, plan, host)

        # The proxy's API token and the hub services' tokens: generated once, kept encrypted in
        # the state.
        proxy_token = self._token(f"{name}-proxy-token", child)
        metrics_token = self._token(f"{name}-metrics-token", child)
        prestart_token = self._token(f"{name}-prestart-token", child)
        proxy = Proxy(
            f"{name}-proxy",
            ProxyArgs(
                host=host,
                names=names,
                image=host.probe_image,
                network=network.name,
                users_network=users_network,
                publish=plan.proxy_publish,
                auth_token=proxy_token,
                behind_edge=plan.tls is not None,
            ),
            child,
        )
        # Mountable on the host before the hub, which mounts them into users' servers, starts.
        shared = None
        if plan.shared:
            shared = SharedFolders(
                f"{name}-shared",
                SharedFoldersArgs(host=host, names=names, folders=plan.shared, keep_data=plan.keep_data),
                child,
            )
        # Users' servers mount the data and shared volumes: on destroy, the servers go first
        # (dependents are deleted before what they depend on), or the volumes are "in use".
        users = UserServers(
            f"{name}-user-servers",
            UserServersArgs(
                host=host,
                names=names,
                network=network.name,
                users_network=users_network,
                keep_data=plan.keep_data,
                depends_on=(data,) if shared is None else (data, shared),
                # Under Swarm the destroy cleans every node with a service of the default
                # notebook image (present on, or pullable by, every node; python3 inside).
                orchestrator="swarm" if plan.swarm else "docker",
                cleanup_image=notebooks[plan.default_notebook].ref if plan.swarm else None,
            ),
            child,
        )

        self.notebook_images = pulumi.Output.all(**{n: image.ref for n, image in notebooks.items()})
        settings_json = self.notebook_images.apply(
            lambda images: settings_document(plan.settings, images, plan.default_notebook)
        )
        # The hub's only way to the engine, enforcing what the hub's settings call for.
        docker_api = DockerApiProxy(
            f"{name}-docker-api",
            DockerApiProxyArgs(
                host=host,
                names=names,
                image=hub_image.ref,
                policy_json=settings_json.apply(
                    lambda text: json.dumps(policy_document(json.loads(text)), indent=2, sort_keys=True)
                ),
            ),
            child,
        )

        # Not after the Docker API proxy's container: the hub is created beside it, on its
        # network, and asks it for the engine's CPUs and memory while its configuration loads,
        # until it answers (hub/servers.py `_docker_host_resources`), before JupyterHub polls any
        # server. That takes the proxy's create (about half a second) off every first `up`.
        hub_after: tuple[pulumi.Resource, ...] = (users, proxy.container)
        if firewall is not None:
            # The hub checks its running servers when it starts: the rules must be there.
            hub_after += (firewall.ready,)
        if shared is not None:
            hub_after += (shared.check,)
        secrets = plan.secrets
        secrets_json = as_secret(
            pulumi.Output.all(proxy_token, metrics_token, prestart_token).apply(
                lambda tokens: secrets_document(secrets, dict(zip(GENERATED_SECRETS, tokens, strict=True)))
            )
        )
        hub = Hub(
            f"{name}-hub",
            HubArgs(
                host=host,
                names=names,
                image=hub_image.ref,
                network=network.name,
                users_network=users_network,
                docker_api_network=docker_api.network,
                docker_host_url=docker_host_url(names),
                data_volume=data.name,
                settings_json=settings_json,
                secrets_json=secrets_json,
                auth_ca_pem=plan.auth_ca_pem,
                files=plan.hub_files,
                depends_on=hub_after,
            ),
            child,
        )

        triggers: list[pulumi.Input[str]] = [hub.container_id, proxy.container_id]
        self.ca_certificate = None
        if plan.tls is not None:
            edge, self.ca_certificate = self._edge(name, plan, host, network.name, proxy.container)
            triggers.append(edge.container_id)
        readiness = Readiness(
            f"{name}-readiness",
            ReadinessArgs(
                host=host,
                hub_container=names.hub,
                timeout=plan.hub_wait_timeout,
                health_url=plan.health_url,
                connect_address=plan.connect_address,
                ca_pem=self.ca_certificate,
                # Published only on a remote host's loopback: probe from the host itself.
                from_host=FromHost(host.command_env, hub_image.ref) if plan.probe_from_host else None,
                triggers=tuple(triggers),
            ),
            child,
        )
        prestart = plan.settings.get("prestart")
        if prestart:
            # After the hub answers: start every listed user's server (hub/prestart.py, run in
            # the hub container with the prestart service's token), again whenever the hub is
            # replaced or the list changes.
            run_script(
                f"{name}-prestart",
                "prestart",
                {**host.command_env, "JHUB_HUB_CONTAINER": names.hub},
                pulumi.ResourceOptions(parent=self, depends_on=[readiness]),
                triggers=[hub.container_id, json.dumps(prestart, sort_keys=True)],
            )
        self.metrics_token = metrics_token
        self.url = plan.url
        self.access = plan.access
        self.docker_host = plan.docker_host
        self.admins = plan.admins
        self.ready = readiness.message
        self.network = network.name
        self.data_volume = data.name
        self.registry_server = None if registry is None else registry.server
        prefix = f"{self.registry_server}/"
        self.registry_images = self.notebook_images.apply(
            lambda refs: sorted(ref for ref in refs.values() if ref.startswith(prefix))
        )
        self.register_outputs({"url": self.url, "network": self.network, "dataVolume": self.data_volume})

    def _images(
        self, name: str, plan: DeploymentPlan, host: DockerHost
    ) -> tuple[BuiltImage, Registry | None, dict[str, NotebookImage]]:
        """The hub image, the stack's registry when it has one, and every notebook image (built
        and pushed there, or pulled), each present on the host before the hub starts."""
        child = pulumi.ResourceOptions(parent=self)
        names = plan.names
        hub_image = BuiltImage(
            f"{name}-hub-image", BuiltImageArgs(host=host, spec=plan.hub_build, push=None), child
        )
        registry = None
        push = None
        if plan.registry is not None:
            registry = Registry(
                f"{name}-registry",
                RegistryArgs(
                    host=host,
                    names=names,
                    image=plan.registry.image,
                    publish=plan.registry.publish,
                    credentials=plan.registry.credentials,
                    keep_data=plan.keep_data,
                    server=plan.registry.server,
                ),
                child,
            )
            push = RegistryPush(
                server=plan.registry.server,
                username=None if plan.registry.credentials is None else plan.registry.credentials[0],
                password=None
                if plan.registry_password is None
                else as_secret(pulumi.Output.from_input(plan.registry_password)),
                registry=registry.ready,
            )
        # One image per configured entry, each present on the host before the hub starts.
        notebooks = {
            notebook.name: NotebookImage(
                f"{name}-notebook-{notebook.slug}",
                NotebookImageArgs(host=host, source=notebook.source, hub_version=plan.hub_version, push=push),
                child,
            )
            for notebook in plan.notebooks
        }
        return hub_image, registry, notebooks

    def _isolation(
        self, name: str, plan: DeploymentPlan, host: DockerHost
    ) -> tuple[pulumi.Output[str] | None, Firewall | None]:
        """network.isolation: the users network and its firewall (docs/explanation/security-model.md)."""
        isolation = plan.isolation
        if isolation is None:
            return None, None
        child = pulumi.ResourceOptions(parent=self)
        users = UsersNetwork(f"{name}-users-network", UsersNetworkArgs(host=host, names=plan.names), child)
        firewall = Firewall(
            f"{name}-firewall",
            FirewallArgs(
                host=host,
                names=plan.names,
                build=isolation.build,
                users_network=users.name,
                egress_allow=isolation.egress_allow,
                egress_deny=isolation.egress_deny,
            ),
            child,
        )
        return users.name, firewall

    @staticmethod
    def _token(resource_name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        token = random.RandomPassword(resource_name, length=48, special=False, opts=opts)
        return as_secret(token.result)

    def _edge(
        self,
        name: str,
        plan: DeploymentPlan,
        host: DockerHost,
        network: pulumi.Output[str],
        proxy: pulumi.Resource,
    ) -> tuple[Edge, pulumi.Output[str] | None]:
        """The TLS edge, with the certificate the mode calls for, and the CA to trust when the
        stack made its own."""
        tls = plan.tls
        assert tls is not None
        certificate: tuple[pulumi.Input[str], pulumi.Output[str]] | None = None
        ca: pulumi.Output[str] | None = None
        if tls.mode == "self-signed":
            self_signed = SelfSignedCertificate(
                f"{name}-certificate",
                SelfSignedCertificateArgs(names=plan.names, domain=tls.domain),
                pulumi.ResourceOptions(parent=self),
            )
            certificate, ca = (self_signed.chain_pem, self_signed.key_pem), self_signed.ca_cert_pem
        elif tls.manual_certificate is not None:
            chain, key = tls.manual_certificate
            certificate = (
                as_secret(pulumi.Output.from_input(chain)),
                as_secret(pulumi.Output.from_input(key)),
            )
        edge = Edge(
            f"{name}-edge",
            EdgeArgs(
                host=host,
                names=plan.names,
                image=tls.image,
                network=network,
                domain=tls.domain,
                http=tls.http,
                https=tls.https,
                caddyfile=tls.caddyfile,
                certificate=certificate,
                acme_ca_root_pem=tls.acme_ca_root_pem,
                keep_data=plan.keep_data,
                # Its ports may be the proxy's until the proxy's replacement unpublishes them.
                depends_on=(proxy,),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        return edge, ca
