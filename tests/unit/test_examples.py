"""The example stacks people copy are valid, and the program registers for them exactly what it
registered before the program/hub contract was refactored (tests/unit/snapshots/).

The hub image is the exception: its configuration moved from one script into hub/apply.py and
hub/contract.py, so its content tag changed once (and with it the references to it); every
other registered input, option and dependency is identical, so a second `up` after upgrading
changes nothing else. After an intended change, re-record with `JHUB_RECORD_SNAPSHOTS=1`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deployers import PROJECT_DIR

EXAMPLES = PROJECT_DIR / "examples"
SNAPSHOTS = Path(__file__).parent / "snapshots"
# Secrets each example's header tells a person to set.
SECRETS = {
    "dev": {},
    "workshop": {
        "auth.password": "on-the-whiteboard",
        "auth.adminPassword": "0123456789abcdef0123456789abcdef",
    },
    "lab": {"auth.clientSecret": "example-client-secret"},
    "remote": {
        "ssh.privateKey": "example-key",
        "auth.lookup.searchPassword": "reader-pass",
        "registry.password": "registry-pass",
    },
}
HUB_TAG = re.compile(r"(jhub-[a-z0-9-]+-(?:hub|firewall)):[0-9a-f]{16}")
# Under the unit-test mocks a resource's id is a digest of its inputs: the hub container's
# follows the hub image's tag.
HUB_ID = re.compile(r"(jupyterhub-(?:hub|firewall)-container)-[0-9a-f]{8}")


def record(stack: str) -> dict[str, Any]:
    config = PROJECT_DIR / "Pulumi.dev.yaml" if stack == "dev" else EXAMPLES / f"Pulumi.{stack}.yaml"
    argv = [sys.executable, "-m", "tests.harness", "record", "--stack", stack, "--config", str(config)]
    for path, value in SECRETS[stack].items():
        argv += ["--secret", f"{path}={value}"]
    result = subprocess.run(argv, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    resources = {
        r["urn"]: {"inputs": r["inputs"], "options": r["options"], "dependencies": r["dependencies"]}
        for r in document["resources"]
    }
    return {"outputs": document["outputs"], "resources": resources}


def without_hub_tag(document: dict[str, Any]) -> Any:
    text = HUB_TAG.sub(r"\1:<content tag>", json.dumps(document, sort_keys=True))
    return json.loads(HUB_ID.sub(r"\1-<id>", text))


def test_every_example_stack_is_covered() -> None:
    assert sorted(p.name.split(".")[1] for p in EXAMPLES.glob("Pulumi.*.yaml")) == sorted(
        set(SECRETS) - {"dev"}
    )


@pytest.mark.parametrize("stack", sorted(SECRETS))
def test_an_example_stack_registers_what_it_did_before_the_refactor(stack: str) -> None:
    recorded = record(stack)
    snapshot = SNAPSHOTS / f"{stack}.json"
    if os.environ.get("JHUB_RECORD_SNAPSHOTS"):
        snapshot.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    assert without_hub_tag(recorded) == without_hub_tag(json.loads(snapshot.read_text()))
