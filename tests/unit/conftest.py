"""Unit fixtures: the program under `pulumi.runtime.set_mocks`, its registrations recorded.

Each run is `python -m tests.harness record` in a subprocess: the Pulumi runtime is global
state, and a fresh process per run is the only way to run the program twice faithfully. No
Docker engine is needed: the plan step's question to the engine is answered by a stand-in
(plan/preflight.py), unless a test asks for the real one (`real_preflight`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deployers import PROJECT_DIR

PASSWORD = "workshop-password-1"
ADMIN_PASSWORD = "admin-password-that-is-32-chars-long!"
BASE_CONFIG: dict[str, Any] = {
    "jupyterhub-docker:auth": {"type": "shared-password", "admins": ["teacher"], "allowAll": True},
    "jupyterhub-docker:publish": {"port": 8123},
}


@dataclass
class Preview:
    returncode: int
    stderr: str
    outputs: dict[str, Any]
    resources: list[dict[str, Any]]

    def by_name(self, name: str) -> dict[str, Any]:
        matches = [r for r in self.resources if r["name"] == name]
        assert len(matches) == 1, f"{name}: {len(matches)} registrations"
        return matches[0]

    def custom(self) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["custom"]]


def preview(
    tmp_path: Path,
    config: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    stack: str = "unit",
    real_preflight: bool = False,
    env: dict[str, str] | None = None,
) -> Preview:
    config_file = tmp_path / f"Pulumi.{stack}.{len(list(tmp_path.iterdir()))}.yaml"
    config_file.write_text(yaml.safe_dump({"config": BASE_CONFIG if config is None else config}))
    secrets = (
        {"auth.password": PASSWORD, "auth.adminPassword": ADMIN_PASSWORD} if secrets is None else secrets
    )
    argv = [sys.executable, "-m", "tests.harness", "record", "--stack", stack, "--config", str(config_file)]
    for path, value in secrets.items():
        argv += ["--secret", f"{path}={value}"]
    if real_preflight:
        argv.append("--real-preflight")
    result = subprocess.run(
        argv,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env=None if env is None else {**os.environ, **env},
    )
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return Preview(
        returncode=result.returncode,
        stderr=result.stderr,
        outputs=document.get("outputs", {}),
        resources=document.get("resources", []),
    )


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Preview:
    result = preview(tmp_path_factory.mktemp("baseline"))
    assert result.returncode == 0, result.stderr
    return result
