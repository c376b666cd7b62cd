"""Ways to deploy a stack in the tests: the real-engine harness, or the Pulumi CLI.

Both take the same inputs: a stack name, a stack file, secrets and settings as
`pulumi config set [--secret] --path PATH VALUE` would write them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

PROJECT_DIR = Path(__file__).resolve().parents[1]


class DeployError(AssertionError):
    pass


@dataclass
class StackSpec:
    name: str
    config_file: Path
    secrets: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


class Deployer(Protocol):
    kind: str

    def preview(self, spec: StackSpec) -> dict[str, str]: ...

    def up(self, spec: StackSpec, *, expect_no_changes: bool = False) -> dict[str, Any]: ...

    def destroy(self, spec: StackSpec) -> None: ...


def changes(plan: list[dict[str, Any]]) -> dict[str, str]:
    """Resource name -> what the plan does to it, for every step that changes something (the
    deletion of a replaced resource's old object is part of its replace)."""
    return {step["name"]: step["op"] for step in plan if step["op"] not in ("same", "delete-replaced")}


def _cli_args(spec: StackSpec) -> list[str]:
    args = ["--stack", spec.name, "--config", str(spec.config_file)]
    for path, value in spec.settings.items():
        args += ["--set", f"{path}={json.dumps(value)}"]
    for path, value in spec.secrets.items():
        args += ["--secret", f"{path}={value}"]
    return args


@dataclass
class HarnessDeployer:
    """`python -m tests.harness preview|up|destroy`: the program's graph on the real engine.

    `project_dir` is the checkout the commands run in (another one: a fresh clone).
    """

    state_dir: Path
    kind: str = "harness"
    project_dir: Path = PROJECT_DIR
    last_log: str = ""
    last_plan: dict[str, str] = field(default_factory=dict)

    def run(self, action: str, spec: StackSpec, *extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "tests.harness", action, "--state-dir", str(self.state_dir)]
        argv += ["--project-dir", str(self.project_dir), *extra]
        # `pulumi destroy` runs without the stack's config unless it runs the program.
        argv += (
            ["--stack", spec.name]
            if action == "destroy" and "--run-program" not in extra
            else _cli_args(spec)
        )
        result = subprocess.run(argv, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=1200)
        self.last_log = result.stderr
        return result

    def preview(self, spec: StackSpec, *, refresh: bool = True) -> dict[str, str]:
        result = self.run("preview", spec, *([] if refresh else ["--no-refresh"]))
        if result.returncode != 0:
            raise DeployError(f"preview {spec.name} failed:\n{result.stderr[-4000:]}")
        return changes(json.loads(result.stdout)["plan"])

    def up(self, spec: StackSpec, *, expect_no_changes: bool = False) -> dict[str, Any]:
        # Secret outputs in clear, as `pulumi stack output --show-secrets` gives them to a person
        # (the Automation API's outputs carry them too); snapshots show them masked.
        result = self.run(
            "up", spec, "--show-secrets", *(["--expect-no-changes"] if expect_no_changes else [])
        )
        if result.returncode != 0:
            raise DeployError(f"up {spec.name} failed:\n{result.stderr[-4000:]}")
        document = json.loads(result.stdout)
        self.last_plan = changes(document["plan"])
        outputs: dict[str, Any] = document["outputs"]
        return outputs

    def destroy(self, spec: StackSpec, *, run_program: bool = False) -> None:
        result = self.run("destroy", spec, *(["--run-program"] if run_program else []))
        if result.returncode != 0:
            raise DeployError(f"destroy {spec.name} failed:\n{result.stderr[-4000:]}")


def pulumi_cli_available() -> bool:
    return shutil.which("pulumi") is not None


@dataclass
class AutomationDeployer:
    """The same stack through the Pulumi Automation API, a local file:// backend and a passphrase."""

    state_dir: Path
    kind: str = "automation"

    def _stack(self, spec: StackSpec) -> Any:
        from pulumi import automation as auto

        self.state_dir.mkdir(parents=True, exist_ok=True)
        workspace = auto.LocalWorkspaceOptions(
            work_dir=str(PROJECT_DIR),
            env_vars={
                "PULUMI_BACKEND_URL": f"file://{self.state_dir}",
                "PULUMI_CONFIG_PASSPHRASE": "jupyterhub-docker-tests",
            },
        )
        stack = auto.create_or_select_stack(stack_name=spec.name, work_dir=str(PROJECT_DIR), opts=workspace)
        return stack

    def _configured(self, spec: StackSpec) -> Any:
        import yaml
        from pulumi import automation as auto

        stack = self._stack(spec)
        document = yaml.safe_load(spec.config_file.read_text()) or {}
        values = {
            key: auto.ConfigValue(value=v if isinstance(v, str) else json.dumps(v))
            for key, v in (document.get("config") or {}).items()
        }
        stack.set_all_config(values)
        for path, value in spec.settings.items():
            stack.set_config(
                f"jupyterhub-docker:{path}", auto.ConfigValue(value=json.dumps(value)), path=True
            )
        for path, value in spec.secrets.items():
            stack.set_config(
                f"jupyterhub-docker:{path}", auto.ConfigValue(value=value, secret=True), path=True
            )
        return stack

    def preview(self, spec: StackSpec) -> dict[str, str]:
        result = self._configured(spec).preview(on_output=lambda line: None)
        return {op: str(count) for op, count in result.change_summary.items() if op != "same"}

    def up(self, spec: StackSpec, *, expect_no_changes: bool = False) -> dict[str, Any]:
        stack = self._configured(spec)
        result = stack.up(on_output=lambda line: None, expect_no_changes=expect_no_changes)
        return {key: out.value for key, out in result.outputs.items()}

    def destroy(self, spec: StackSpec) -> None:
        stack = self._stack(spec)
        stack.destroy(on_output=lambda line: None)
        stack.workspace.remove_stack(spec.name)


def extra_ca_file() -> Path | None:
    """The CA bundle scripts/test-env.sh gathered for image builds behind TLS interception."""
    path = PROJECT_DIR / ".cache" / "extra-ca.pem"
    return path if path.exists() and path.stat().st_size > 0 else None
