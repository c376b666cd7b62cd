"""Small Pulumi programs run through the harness on the real engine, to pin its model.

Each probe is a project of its own (Pulumi.yaml with the docker default provider disabled, one
explicit provider) whose program a test rewrites between runs, as a person edits theirs.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.deployers import PROJECT_DIR

PULUMI_YAML = """\
name: harness-probe
runtime: python
config:
  pulumi:disable-default-providers:
    value: [docker]
"""
IMPORTS = """\
import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_random as random
"""
HEADER = (
    IMPORTS
    + """
provider = docker.Provider("engine", host=HOST)
on_engine = pulumi.ResourceOptions(provider=provider)


def opts(**kwargs):
    return pulumi.ResourceOptions.merge(on_engine, pulumi.ResourceOptions(**kwargs))
"""
)


class Probe:
    """A probe project: `program` writes its __main__.py, `run` runs a harness action."""

    def __init__(self, root: Path, *, host: str = "unix:///var/run/docker.sock") -> None:
        self.root = root
        self.project = root / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        (self.project / "Pulumi.yaml").write_text(PULUMI_YAML)
        self.state_dir = root / "state"
        self.host = host
        # Docker object names unique to this probe.
        self.token = "probe-" + secrets.token_hex(3)

    def program(self, body: str, *, pulumi_yaml_extra: str = "", provider: bool = True) -> None:
        """Write __main__.py: the body after the imports and, unless `provider` is False, the
        probe's provider `engine` and `opts(...)` for resources on it."""
        if pulumi_yaml_extra:
            (self.project / "Pulumi.yaml").write_text(PULUMI_YAML + pulumi_yaml_extra)
        header = HEADER.replace("HOST", repr(self.host)) if provider else IMPORTS
        code = header + textwrap.dedent(body).replace("TOKEN", self.token)
        (self.project / "__main__.py").write_text(code)

    def run(
        self, action: str, *extra: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "tests.harness", action, "--stack", "probe"]
        argv += ["--project-dir", str(self.project), "--state-dir", str(self.state_dir), *extra]
        return subprocess.run(
            argv,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **(env or {})},
        )

    def ok(self, action: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        result = self.run(action, *extra, env=env)
        assert result.returncode == 0, f"{action} failed:\n{result.stderr[-4000:]}"
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def changes(self, document: dict[str, Any]) -> dict[str, str]:
        """name -> op of every step that is not `same` (a replace's deletion of the old object
        is part of the replace)."""
        return {
            step["name"]: step["op"]
            for step in document["plan"]
            if step["op"] not in ("same", "delete-replaced")
        }

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "probe.json").read_text())
        return data

    def record(self, name: str) -> dict[str, Any]:
        return next(r for r in self.state()["resources"] if r["name"] == name)
