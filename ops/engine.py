"""The docker CLI, pointed at a stack's Docker host the way the program's scripts reach it.

The host comes from `Pulumi.<stack>.yaml` (`jupyterhub-docker:dockerHost`, plain config); an
ssh:// or tcp:// host is reached through the client files the last `pulumi preview` or `up`
wrote (plan/connection.py), so no secret is read here.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from config.stack import NAMESPACE
from plan.connection import ConnectionFiles


class OpsError(RuntimeError):
    """What went wrong, said for a person: printed without a traceback, exit code 1."""


@dataclass(frozen=True)
class Engine:
    env: dict[str, str]
    host: str

    @classmethod
    def for_stack(cls, project_dir: Path, stack: str, stack_file: Path | None = None) -> Engine:
        """`stack_file` defaults to the project's `Pulumi.<stack>.yaml`."""
        stack_file = stack_file or project_dir / f"Pulumi.{stack}.yaml"
        if not stack_file.exists():
            raise OpsError(f"no stack file {stack_file}: name an existing stack with --stack")
        config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        host = str(config.get(f"{NAMESPACE}:dockerHost", "unix:///var/run/docker.sock"))
        env = {**os.environ, "DOCKER_HOST": host}
        files = ConnectionFiles(stack)
        if host.startswith("ssh://"):
            wrapper = project_dir / files.ssh_bin
            if not wrapper.is_dir():
                raise OpsError(f"{wrapper} is missing: run `pulumi preview --stack {stack}` first")
            env["PATH"] = f"{wrapper}{os.pathsep}{env['PATH']}"
        elif host.startswith("tcp://"):
            certs = project_dir / files.tls_dir
            if not certs.is_dir():
                raise OpsError(f"{certs} is missing: run `pulumi preview --stack {stack}` first")
            env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs))
        return cls(env=env, host=host)

    def run(self, *args: str, stdin: IO[bytes] | None = None, check: bool = True) -> str:
        result = subprocess.run(["docker", *args], env=self.env, stdin=stdin, capture_output=True)
        if check and result.returncode != 0:
            raise OpsError(
                f"docker {args[0]} on {self.host}: {result.stderr.decode(errors='replace').strip()}"
            )
        return result.stdout.decode(errors="replace")

    def stream(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["docker", *args], env=self.env, stderr=subprocess.PIPE, **kwargs)
