"""Ways to deploy a stack in the tests: the real-engine harness, or the Pulumi CLI.

Both take the same inputs: a stack name, a stack file, secrets and settings as
`pulumi config set [--secret] --path PATH VALUE` would write them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

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
    """What the tests do to a stack. Plans are per resource: name -> create, update, replace
    or delete, as `pulumi preview` lists them; `last_plan` is what the last `up` did."""

    kind: str
    state_dir: Path
    project_dir: Path
    last_plan: dict[str, str]

    def preview(self, spec: StackSpec, *, refresh: bool = True) -> dict[str, str]: ...

    def up(self, spec: StackSpec, *, expect_no_changes: bool = False) -> dict[str, Any]: ...

    def destroy(self, spec: StackSpec, *, run_program: bool = False) -> None: ...

    def in_checkout(self, project_dir: Path) -> Deployer:
        """The same stacks (the same state), run from another checkout."""
        ...


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

    def in_checkout(self, project_dir: Path) -> HarnessDeployer:
        return HarnessDeployer(self.state_dir, project_dir=project_dir)

    def destroy(self, spec: StackSpec, *, run_program: bool = False) -> None:
        result = self.run("destroy", spec, *(["--run-program"] if run_program else []))
        if result.returncode != 0:
            raise DeployError(f"destroy {spec.name} failed:\n{result.stderr[-4000:]}")


def pulumi_cli_available() -> bool:
    return shutil.which("pulumi") is not None


PROJECT = "jupyterhub-docker"
PASSPHRASE = "jupyterhub-docker-tests"
# The stack's root resource, which the harness does not model (it is not the program's).
STACK_TYPE = "pulumi:pulumi:Stack"
# What the engine's steps do to a resource, as the harness's plan names it: the steps of a
# replacement (create the new object, replace, delete the old one) are one "replace"; reading,
# refreshing and leaving a resource as it is change nothing.
_REPLACE_STEPS = {
    "replace",
    "create-replacement",
    "delete-replaced",
    "read-replacement",
    "import-replacement",
}
_CHANGE_STEPS = {"create", "update", "delete", "import"}


def cli_env(backend: Path) -> dict[str, str]:
    """What the tests' `pulumi` runs with: a local file:// backend, the tests' passphrase."""
    return {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }


def steps_to_changes(steps: list[tuple[str, str]]) -> dict[str, str]:
    """(urn, op) of every step the engine reported -> resource name -> what happens to it."""
    planned: dict[str, str] = {}
    for urn, op in steps:
        name = urn.rsplit("::", 1)[-1]
        if op in _REPLACE_STEPS:
            planned[name] = "replace"
        elif op in _CHANGE_STEPS and planned.get(name) != "replace":
            planned[name] = op
    return planned


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """`pulumi config set --path a.b.c` on a config document (dotted keys only)."""
    key, *rest = path.split(".")
    node = document.setdefault(f"{PROJECT}:{key}", {} if rest else value)
    if not rest:
        document[f"{PROJECT}:{key}"] = value
        return
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value


@dataclass
class AutomationDeployer:
    """The same stack through the Pulumi Automation API and the `pulumi` CLI on PATH, with a
    local file:// backend and a passphrase, run in the checkout as a person runs it there.

    The checkout is left as it is: each stack's settings live in a file of their own beside the
    test's stack file (`--config-file`), with the stack's encryption salt and its secrets
    encrypted by `pulumi config set-all --secret`; stacks are created in a scratch project, so
    `pulumi stack init` writes no Pulumi.<stack>.yaml into the checkout either.
    """

    state_dir: Path
    kind: str = "automation"
    project_dir: Path = PROJECT_DIR
    last_log: str = ""
    last_plan: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return cli_env(self.state_dir / "backend")

    def in_checkout(self, project_dir: Path) -> AutomationDeployer:
        return AutomationDeployer(self.state_dir, project_dir=project_dir)

    def _salt(self, spec: StackSpec) -> str:
        """The stack's encryption salt, from `pulumi stack init` in the scratch project."""
        from pulumi import automation as auto

        scratch = self.state_dir / "init"
        salted = scratch / f"Pulumi.{spec.name}.yaml"
        if not salted.exists():
            scratch.mkdir(parents=True, exist_ok=True)
            (self.state_dir / "backend").mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_DIR / "Pulumi.yaml", scratch / "Pulumi.yaml")
            auto.create_stack(
                stack_name=spec.name,
                work_dir=str(scratch),
                opts=auto.LocalWorkspaceOptions(env_vars=self.env),
            )
        salt: str = yaml.safe_load(salted.read_text())["encryptionsalt"]
        return salt

    def _config_file(self, spec: StackSpec) -> Path:
        """The spec's stack file as the CLI reads it: the same settings, the salt, the secrets."""
        document = yaml.safe_load(spec.config_file.read_text()) or {}
        config: dict[str, Any] = dict(document.get("config") or {})
        for path, value in spec.settings.items():
            _set_path(config, path, value)
        target = spec.config_file.parent / "automation" / spec.config_file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump({"encryptionsalt": self._salt(spec), "config": config}))
        if spec.secrets:
            argv = ["pulumi", "config", "set-all", "--stack", spec.name, "--config-file", str(target)]
            argv.append("--path")
            for path, value in spec.secrets.items():
                argv += ["--secret", f"{PROJECT}:{path}={value}"]
            subprocess.run(
                argv,
                cwd=self.project_dir,
                env={**os.environ, **self.env},
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            )
        return target

    def _stack(self, spec: StackSpec) -> Any:
        from pulumi import automation as auto

        self._ensure_virtualenv()
        return auto.select_stack(
            stack_name=spec.name,
            work_dir=str(self.project_dir),
            opts=auto.LocalWorkspaceOptions(env_vars=self.env),
        )

    def _ensure_virtualenv(self) -> None:
        """Another checkout (a fresh clone, an older one) gets the project's virtualenv, as a
        person would run `python -m venv .venv && pip install -r requirements.txt` there."""
        venv = self.project_dir / ".venv"
        if not venv.exists():
            venv.symlink_to(PROJECT_DIR / ".venv")

    def _run(self, action: str, spec: StackSpec, operation: Any) -> Any:
        from pulumi import automation as auto

        steps: list[tuple[str, str]] = []
        output: list[str] = []

        def on_event(event: Any) -> None:
            pre = event.resource_pre_event
            if pre is not None and pre.metadata.type != STACK_TYPE:
                steps.append((pre.metadata.urn, pre.metadata.op.value))

        # `up` reads its outputs back with `pulumi stack output --show-secrets`, which takes no
        # --config-file and writes the stack's salt into the checkout's Pulumi.<stack>.yaml.
        salt_file = self.project_dir / f"Pulumi.{spec.name}.yaml"
        existed = salt_file.exists()
        try:
            result = operation(on_event=on_event, on_output=output.append)
        except auto.CommandError as exc:
            self.last_log = "\n".join(output)
            raise DeployError(f"{action} {spec.name} failed:\n{str(exc)[-8000:]}") from None
        finally:
            if (
                not existed
                and salt_file.exists()
                and set(yaml.safe_load(salt_file.read_text()) or {}) <= {"encryptionsalt"}
            ):
                salt_file.unlink()
        self.last_log = "\n".join(output)
        self.last_plan = steps_to_changes(steps)
        return result

    def preview(self, spec: StackSpec, *, refresh: bool = True) -> dict[str, str]:
        config_file = str(self._config_file(spec))
        if not refresh:
            return self._preview_without_refresh(spec, config_file)
        stack = self._stack(spec)
        self._run("preview", spec, lambda **kw: stack.preview(config_file=config_file, **kw))
        return self.last_plan

    def _preview_without_refresh(self, spec: StackSpec, config_file: str) -> dict[str, str]:
        """`pulumi preview --refresh=false`, which the Automation API cannot ask for (it only
        adds `--refresh` when asked to refresh; the project's `refresh: always` does the rest)."""
        self._ensure_virtualenv()
        argv = ["pulumi", "preview", "--stack", spec.name, "--config-file", config_file]
        argv += ["--refresh=false", "--json", "--non-interactive"]
        result = subprocess.run(
            argv,
            cwd=self.project_dir,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=1200,
        )
        self.last_log = result.stderr
        if result.returncode != 0:
            raise DeployError(f"preview {spec.name} failed:\n{(result.stdout + result.stderr)[-8000:]}")
        document = json.loads(result.stdout)
        self.last_plan = steps_to_changes(
            [(s["urn"], s["op"]) for s in document.get("steps", []) if s.get("type") != STACK_TYPE]
        )
        return self.last_plan

    def up(self, spec: StackSpec, *, expect_no_changes: bool = False) -> dict[str, Any]:
        config_file = str(self._config_file(spec))
        stack = self._stack(spec)
        result = self._run(
            "up",
            spec,
            lambda **kw: stack.up(config_file=config_file, expect_no_changes=expect_no_changes, **kw),
        )
        return {key: out.value for key, out in result.outputs.items()}

    def destroy(self, spec: StackSpec, *, run_program: bool = False) -> None:
        # As `pulumi destroy` in the checkout: the stack's own file, the program not run.
        config_file = str(self._config_file(spec))
        stack = self._stack(spec)
        self._run(
            "destroy",
            spec,
            lambda **kw: stack.destroy(config_file=config_file, run_program=run_program or None, **kw),
        )


def extra_ca_file() -> Path | None:
    """The CA bundle scripts/test-env.sh gathered for image builds behind TLS interception."""
    path = PROJECT_DIR / ".cache" / "extra-ca.pem"
    return path if path.exists() and path.stat().st_size > 0 else None
