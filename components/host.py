"""The Docker host: one explicit provider for the whole stack, local or remote, and the checks
that run on it before anything of the stack is created.

Default providers are disabled in Pulumi.yaml, so a resource that forgets `provider=` fails
instead of silently landing on whatever DOCKER_HOST happens to point at.

Every setting the provider would otherwise fill from the environment of whoever runs Pulumi is
given explicitly (pulumi-docker provider/provider.go `setConfiguration` fills host, certPath
and the TLS materials from DOCKER_* variables only when the key is absent; kreuzwerker's
provider takes `context` from DOCKER_CONTEXT): the user's shell cannot change a stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from .config import StackConfig
from .connection import ConnectionFiles
from .docker_inputs import as_secret, label_inputs
from .naming import LABEL_STACK, StackNames
from .scripts import PYTHON, script


@dataclass(frozen=True)
class PublishedPort:
    key: str  # the config key that sets it, for the error message
    address: str
    port: int


def parse_platform(check_output: str) -> str:
    """The engine's `os/arch` from the connection check's last line (`platform linux/amd64`);
    empty when there is none (unit tests' mocks return an empty stdout), which the provider
    treats as unset."""
    lines = check_output.strip().splitlines()
    if lines and lines[-1].startswith("platform "):
        return lines[-1].removeprefix("platform ").strip()
    return ""


class DockerHost(pulumi.ComponentResource):
    provider: docker.Provider
    # Environment for docker CLI calls on this host (DOCKER_HOST and how to authenticate).
    command_env: dict[str, str]
    # The engine's socket path on the host, mounted into the hub for DockerSpawner.
    socket_path: str
    # The engine's platform (`linux/amd64`): what images are built for.
    platform: pulumi.Output[str]
    # The probe image, pulled before the port check (the proxy's image: every stack has it).
    probe_image: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: StackConfig,
        *,
        names: StackNames,
        probe_image: str,
        ports: list[PublishedPort],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:DockerHost", name, None, opts)
        self.host = config.docker_host
        files = ConnectionFiles(names.stack)
        check_env = {"DOCKER_HOST": self.host}
        ssh_opts: list[str] | None = None
        tls_material: tuple[str, str, pulumi.Output[str]] | None = None
        if config.ssh_target is not None:
            user, address, port = config.ssh_target
            self.command_env = {"DOCKER_HOST": self.host, "JHUB_SSH_BIN": str(files.ssh_bin)}
            check_env = {
                **self.command_env,
                "JHUB_SSH_TARGET": f"{user}@{address}",
                "JHUB_SSH_PORT": str(port),
            }
            ssh_opts = ["-F", str(files.ssh_config)]
            self.socket_path = config.docker_socket
        elif config.docker_tls is not None:
            self.command_env = {
                "DOCKER_HOST": self.host,
                "DOCKER_TLS_VERIFY": "1",
                "DOCKER_CERT_PATH": str(files.tls_dir),
            }
            check_env = self.command_env
            tls = config.docker_tls
            tls_material = (
                tls.ca.get_secret_value(),
                tls.cert.get_secret_value(),
                as_secret(pulumi.Output.from_input(tls.key.get_secret_value())),
            )
            self.socket_path = config.docker_socket
        else:
            self.command_env = {"DOCKER_HOST": self.host}
            self.socket_path = self.host.removeprefix("unix://")
        child = pulumi.ResourceOptions(parent=self)
        # Before anything is created: can we reach the engine, as whom, with the pinned key? A
        # wrong host key, an unknown user or an unreachable host fails here, naming which.
        self.connection = command.local.Command(
            f"{name}-connection",
            create=script("check_docker_host"),
            interpreter=PYTHON,
            environment=check_env,
            opts=child,
        )
        self.platform = self.connection.stdout.apply(parse_platform)
        self.provider = docker.Provider(
            f"{name}-provider",
            host=self.host,
            ssh_opts=ssh_opts,
            ca_material="" if tls_material is None else tls_material[0],
            cert_material="" if tls_material is None else tls_material[1],
            key_material="" if tls_material is None else tls_material[2],
            cert_path="",
            context="",
            opts=child,
        )
        probe = docker.RemoteImage(
            f"{name}-probe-image",
            name=probe_image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[self.connection]),
        )
        self.probe_image = probe.name
        # Re-run whenever the published ports change (a change of triggers replaces a Command).
        ports_json = json.dumps([p.__dict__ for p in ports], sort_keys=True)
        self.ports_check = command.local.Command(
            f"{name}-ports",
            create=script("check_ports"),
            interpreter=PYTHON,
            environment={
                **self.command_env,
                "JHUB_PORTS": ports_json,
                "JHUB_STACK_LABELS": json.dumps(names.labels, sort_keys=True),
                "JHUB_STACK_LABEL": LABEL_STACK,
                "JHUB_PROBE_IMAGE": probe.name,
                "JHUB_PROBE_NAME": f"{names.prefix}-port-probe",
            },
            triggers=[ports_json],
            opts=child,
        )
        # What every Docker object of the stack waits for.
        self.preflight: list[pulumi.Resource] = [self.connection, self.ports_check]
        self.register_outputs({"host": self.host})

    def pull(self, parent: pulumi.Resource, resource_name: str, image: str) -> pulumi.Output[str]:
        """An upstream image on this host, kept there when the stack goes (others may use it)."""
        pulled = docker.RemoteImage(
            resource_name, name=image, keep_locally=True, opts=self.child_opts(parent)
        )
        return pulled.name

    def volume(
        self, parent: pulumi.Resource, resource_name: str, *, name: str, labels: dict[str, str], keep: bool
    ) -> pulumi.Output[str]:
        """A named volume with the stack's labels; `keep` retains it when the stack is destroyed
        (retain, not protect: `pulumi destroy` of the stack must still succeed).

        Every argument of a docker volume replaces it (kreuzwerker resource_docker_volume.go:
        all ForceNew), and a replacement deletes the data. So its labels are set once: a label
        this program adds later must not replace users' data (`ignore_changes`). The name is
        fixed, so a replacement, if one ever happens, deletes first: created first, it would
        adopt the existing volume (Docker's VolumeCreate returns it) and then delete it.
        """
        volume = docker.Volume(
            resource_name,
            name=name,
            labels=label_inputs(docker.VolumeLabelArgs, labels),
            opts=self.child_opts(
                parent, retain_on_delete=keep, delete_before_replace=True, ignore_changes=["labels"]
            ),
        )
        return volume.name

    def child_opts(
        self,
        parent: pulumi.Resource,
        *,
        retain_on_delete: bool = False,
        delete_before_replace: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
        replace_on_changes: list[str] | None = None,
        ignore_changes: list[str] | None = None,
    ) -> pulumi.ResourceOptions:
        """Options for a Docker resource: on this host, under `parent`, after the pre-flight
        checks (engine reachable, published ports free)."""
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            retain_on_delete=retain_on_delete,
            delete_before_replace=delete_before_replace,
            depends_on=[*self.preflight, *(depends_on or [])],
            replace_on_changes=replace_on_changes,
            ignore_changes=ignore_changes,
        )
