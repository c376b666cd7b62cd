"""How the program and its scripts reach the Docker host: the per-stack client files.

For an ssh:// host: the pinned known_hosts, the private key when one is given as a secret, an
ssh config that checks the host key strictly, and an `ssh` wrapper that applies it. For a
tcp:// host: the client TLS files for the docker CLI. They live in .jhub-docker/<stack>/ (never
committed) and are written by the plan step, before anything is registered.

What the state keeps (the provider's sshOpts, the scripts' environment) names them by paths
relative to the project directory, the working directory of the program, of pulumi-command's
scripts and of the provider plugins. `pulumi destroy` does not run the program: from the same
checkout the files are there; from a fresh clone, `pulumi destroy --run-program` writes them.
"""

from __future__ import annotations

import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from config.stack import StackConfig, config_problem

STATE_DIR = ".jhub-docker"


def _write(path: Path, content: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(content)
    path.chmod(mode)


@dataclass(frozen=True)
class ConnectionFiles:
    """Paths of a stack's client files, relative to the project directory."""

    stack: str

    @property
    def root(self) -> Path:
        return Path(STATE_DIR) / self.stack

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh" / "config"

    @property
    def ssh_bin(self) -> Path:
        return self.root / "ssh" / "bin"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    def write(self, config: StackConfig, project_dir: Path) -> None:
        """Write what the stack's host needs (nothing for a local socket)."""
        if config.ssh_target is not None:
            self._write_ssh(config, project_dir)
        elif config.docker_tls is not None:
            for name, value in (
                ("ca.pem", config.docker_tls.ca),
                ("cert.pem", config.docker_tls.cert),
                ("key.pem", config.docker_tls.key),
            ):
                _write(project_dir / self.tls_dir / name, value.get_secret_value().strip() + "\n")

    def _write_ssh(self, config: StackConfig, project_dir: Path) -> None:
        ssh = config.ssh
        real_ssh = shutil.which("ssh")
        if real_ssh is None:
            raise config_problem("dockerHost", "an ssh:// host needs the `ssh` client on PATH")
        root = project_dir / self.root
        lines = ["Host *", "  BatchMode yes", "  ConnectTimeout 10", "  ServerAliveInterval 30"]
        # Inside the files, absolute paths: they are rewritten on every run of the program.
        if ssh.insecure_skip_host_key_check:
            lines += ["  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null"]
        else:
            known_hosts = root / "ssh" / "known_hosts"
            _write(known_hosts, (ssh.known_hosts or "").strip() + "\n", 0o644)
            lines += ["  StrictHostKeyChecking yes", f"  UserKnownHostsFile {known_hosts}"]
        if ssh.private_key is not None:
            key = root / "ssh" / "id"
            _write(key, ssh.private_key.get_secret_value().strip() + "\n")
            lines += [f"  IdentityFile {key}", "  IdentitiesOnly yes"]
        config_file = project_dir / self.ssh_config
        _write(config_file, "\n".join(lines) + "\n")
        wrapper = project_dir / self.ssh_bin / "ssh"
        _write(wrapper, f'#!/bin/sh\nexec {real_ssh} -F "{config_file}" "$@"\n', 0o700)
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
