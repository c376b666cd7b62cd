"""The Docker host: one explicit provider for the whole stack, local or remote.

Default providers are disabled in Pulumi.yaml, so a resource that forgets `provider=` fails
instead of silently landing on whatever DOCKER_HOST happens to point at.

For an ssh:// host the program writes a per-stack SSH client directory (.jhub-docker/<stack>/,
never committed): the pinned known_hosts, the private key when one is given as a secret, an ssh
config that checks the host key strictly, and an `ssh` wrapper that applies it. The provider and
every docker CLI call the stack makes (version checks, cleanup, readiness from the host) use that
same configuration, so no step trusts a host key the config did not pin.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from .config import ConfigError, StackConfig
from .docker_inputs import as_secret, label_inputs
from .scripts import PYTHON, script


def _write(path: Path, content: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(content)
    path.chmod(mode)


class ConnectionFiles:
    """The files ssh and the docker CLI need to reach the stack's host."""

    def __init__(self, project_dir: Path, stack: str, config: StackConfig) -> None:
        self.root = project_dir / ".jhub-docker" / stack
        self.ssh_config = self.root / "ssh" / "config"
        self.ssh_bin = self.root / "ssh" / "bin"
        self.tls_dir = self.root / "tls"
        self._config = config

    def write_ssh(self) -> None:
        ssh = self._config.ssh
        real_ssh = shutil.which("ssh")
        if real_ssh is None:
            raise ConfigError(
                "invalid stack config:\n  dockerHost: an ssh:// host needs the `ssh` client on PATH"
            )
        lines = ["Host *", "  BatchMode yes", "  ConnectTimeout 10", "  ServerAliveInterval 30"]
        if ssh.insecure_skip_host_key_check:
            lines += ["  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null"]
        else:
            known_hosts = self.root / "ssh" / "known_hosts"
            _write(known_hosts, (ssh.known_hosts or "").strip() + "\n", 0o644)
            lines += ["  StrictHostKeyChecking yes", f"  UserKnownHostsFile {known_hosts}"]
        if ssh.private_key is not None:
            key = self.root / "ssh" / "id"
            _write(key, ssh.private_key.get_secret_value().strip() + "\n")
            lines += [f"  IdentityFile {key}", "  IdentitiesOnly yes"]
        _write(self.ssh_config, "\n".join(lines) + "\n")
        wrapper = self.ssh_bin / "ssh"
        _write(wrapper, f'#!/bin/sh\nexec {real_ssh} -F "{self.ssh_config}" "$@"\n', 0o700)
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)

    def write_tls(self) -> None:
        tls = self._config.docker_tls
        assert tls is not None
        for name, value in (("ca.pem", tls.ca), ("cert.pem", tls.cert), ("key.pem", tls.key)):
            _write(self.tls_dir / name, value.get_secret_value().strip() + "\n")


class DockerHost(pulumi.ComponentResource):
    provider: docker.Provider
    # Environment for docker CLI calls on this host (DOCKER_HOST and how to authenticate).
    command_env: dict[str, str]
    # The engine's socket path on the host, mounted into the hub for DockerSpawner.
    socket_path: str
    # Where users reach published ports when the host is not this machine.
    remote_address: str | None

    def __init__(
        self,
        name: str,
        config: StackConfig,
        *,
        project_dir: Path,
        stack: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:DockerHost", name, None, opts)
        self.host = config.docker_host
        self.remote_address = config.remote_address
        files = ConnectionFiles(project_dir, stack, config)
        check_env = {"DOCKER_HOST": self.host}
        ssh_opts: list[str] | None = None
        tls_material: tuple[str, str, pulumi.Output[str]] | None = None
        if config.ssh_target is not None:
            files.write_ssh()
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
            files.write_tls()
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
        # Before anything is created: can we reach the engine, as whom, with the pinned key? A
        # wrong host key, an unknown user or an unreachable host fails here, naming which.
        self.connection = command.local.Command(
            f"{name}-connection",
            create=script("check_docker_host"),
            interpreter=PYTHON,
            environment=check_env,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.provider = docker.Provider(
            f"{name}-provider",
            host=self.host,
            ssh_opts=ssh_opts,
            ca_material=None if tls_material is None else tls_material[0],
            cert_material=None if tls_material is None else tls_material[1],
            key_material=None if tls_material is None else tls_material[2],
            opts=pulumi.ResourceOptions(parent=self),
        )
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
        (retain, not protect: `pulumi destroy` of the stack must still succeed)."""
        volume = docker.Volume(
            resource_name,
            name=name,
            labels=label_inputs(docker.VolumeLabelArgs, labels),
            opts=self.child_opts(parent, retain_on_delete=keep),
        )
        return volume.name

    def child_opts(
        self,
        parent: pulumi.Resource,
        *,
        retain_on_delete: bool = False,
        delete_before_replace: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> pulumi.ResourceOptions:
        """Options for a Docker resource: on this host, under `parent`, after the connection check."""
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            retain_on_delete=retain_on_delete,
            delete_before_replace=delete_before_replace,
            depends_on=[self.connection, *(depends_on or [])],
        )
