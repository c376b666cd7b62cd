"""Small Pulumi programs run on the real Docker engine, to pin the harness's model.

Each probe is a project of its own (Pulumi.yaml with the docker default provider disabled, one
explicit provider) whose program a test rewrites between runs, as a person edits theirs. It runs
through the harness, or (`kind="cli"`, where a `pulumi` CLI is on PATH) through the real CLI and
providers, answering in the harness's terms: the same rule then holds for both or the model is
wrong (tests/harness/MODEL.md, the "real CLI" column).
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

from tests.deployers import PROJECT_DIR, STACK_TYPE, cli_env, steps_to_changes

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


# The real CLI runs the probe with the project's virtualenv (the harness: the tests' Python).
CLI_RUNTIME = f"""\
runtime:
  name: python
  options:
    virtualenv: {PROJECT_DIR / ".venv"}
"""


class Probe:
    """A probe project: `program` writes its __main__.py, `run` runs an action on it."""

    def __init__(
        self, root: Path, *, host: str = "unix:///var/run/docker.sock", kind: str = "harness"
    ) -> None:
        self.root = root
        self.kind = kind
        self.project = root / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        self.state_dir = root / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_pulumi_yaml("")
        self.host = host
        # Docker object names unique to this probe.
        self.token = "probe-" + secrets.token_hex(3)
        self._stack_created = False

    def _write_pulumi_yaml(self, extra: str) -> None:
        text = PULUMI_YAML + extra
        if self.kind == "cli":
            text = text.replace("runtime: python\n", CLI_RUNTIME)
        (self.project / "Pulumi.yaml").write_text(text)

    def program(self, body: str, *, pulumi_yaml_extra: str = "", provider: bool = True) -> None:
        """Write __main__.py: the body after the imports and, unless `provider` is False, the
        probe's provider `engine` and `opts(...)` for resources on it."""
        if pulumi_yaml_extra:
            self._write_pulumi_yaml(pulumi_yaml_extra)
        header = HEADER.replace("HOST", repr(self.host)) if provider else IMPORTS
        code = header + textwrap.dedent(body).replace("TOKEN", self.token)
        (self.project / "__main__.py").write_text(code)

    def run(
        self, action: str, *extra: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`preview`, `up` or `destroy` (`--refresh`, `--no-refresh`, `--run-program`): stdout is
        the harness's JSON document (`plan`), stderr what a person reads."""
        if self.kind == "cli":
            return self._run_cli(action, *extra, env=env)
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

    def has_state(self) -> bool:
        if self.kind == "cli":
            return self._stack_created and bool(self.state()["resources"])
        return (self.state_dir / "probe.json").exists()

    def state(self) -> dict[str, Any]:
        """The state's resources: name, type, inputs and `init_error` (the harness's records)."""
        if self.kind == "cli":
            return self._cli_state()
        data: dict[str, Any] = json.loads((self.state_dir / "probe.json").read_text())
        return data

    # --- the real CLI ----------------------------------------------------------------------------
    def _cli_env(self, env: dict[str, str] | None) -> dict[str, str]:
        return {
            **os.environ,
            **cli_env(self.state_dir),
            # `--event-log` (the engine's events, as the Automation API reads them) is a debug flag.
            "PULUMI_DEBUG_COMMANDS": "true",
            **(env or {}),
        }

    def _cli(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *argv, "--non-interactive"],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=600,
            env=self._cli_env(env),
        )

    def _run_cli(
        self, action: str, *extra: str, env: dict[str, str] | None
    ) -> subprocess.CompletedProcess[str]:
        if not self._stack_created:
            created = self._cli("stack", "init", "probe")
            assert created.returncode == 0, created.stderr
            self._stack_created = True
        events = self.root / f"events-{secrets.token_hex(4)}.jsonl"
        flags = [{"--no-refresh": "--refresh=false"}.get(flag, flag) for flag in extra]
        # `up` and `destroy` without their own preview first: the harness's steps are the update's.
        confirm = [] if action == "preview" else ["--yes", "--skip-preview"]
        result = self._cli(action, "--stack", "probe", *confirm, "--event-log", str(events), *flags, env=env)
        steps = []
        if events.exists():
            for line in events.read_text().splitlines():
                pre = json.loads(line).get("resourcePreEvent") if line.strip() else None
                if pre and pre["metadata"]["type"] != STACK_TYPE:
                    steps.append((pre["metadata"]["urn"], pre["metadata"]["op"]))
            events.unlink()
        plan = [{"name": name, "op": op} for name, op in steps_to_changes(steps).items()]
        return subprocess.CompletedProcess(
            result.args, result.returncode, json.dumps({"plan": plan}), result.stdout + result.stderr
        )

    def _cli_state(self) -> dict[str, Any]:
        exported = self._cli("stack", "export", "--stack", "probe", "--show-secrets")
        assert exported.returncode == 0, exported.stderr
        deployment = json.loads(exported.stdout)["deployment"]
        return {
            "resources": [
                {
                    "name": r["urn"].rsplit("::", 1)[-1],
                    "type": r["type"],
                    "inputs": r.get("inputs", {}),
                    "init_error": r.get("initErrors"),
                }
                for r in deployment.get("resources") or []
                if r["type"] != STACK_TYPE
            ]
        }

    def record(self, name: str) -> dict[str, Any]:
        return next(r for r in self.state()["resources"] if r["name"] == name)
