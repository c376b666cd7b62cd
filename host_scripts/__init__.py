"""Scripts that pulumi-command runs on the machine running Pulumi.

They live as files next to this module so they can be linted and read, and are passed to
`python3 -c` as text so the registered inputs do not depend on where the checkout lives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_command as command

_DIR = Path(__file__).parent

PYTHON = ["python3", "-c"]


def script(name: str) -> str:
    """The script's text, after the prelude every script shares (how to reach the host)."""
    return (_DIR / "_prelude.py").read_text() + "\n" + source(name)


def source(name: str) -> str:
    """The script's own text, for one that runs elsewhere than on the machine running Pulumi."""
    return (_DIR / f"{name}.py").read_text()


def run_script(
    resource_name: str,
    name: str,
    environment: pulumi.Input[dict[str, pulumi.Input[str]]],
    opts: pulumi.ResourceOptions,
    triggers: list[pulumi.Input[str]] | None = None,
) -> command.local.Command:
    """A Command that runs script `name` at create, with `environment`; a change of `triggers`
    replaces it, which runs it again (pulumi-command: triggers are replaceOnChanges)."""
    return command.local.Command(
        resource_name,
        create=script(name),
        interpreter=PYTHON,
        environment=environment,
        triggers=triggers,
        opts=opts,
    )


def wait_until_ready(
    resource_name: str,
    command_env: dict[str, str],
    container_name: str,
    probe: list[str],
    what: str,
    timeout: int,
    container_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> command.local.Command:
    """A Command that returns once `probe` succeeds inside the container (scripts/
    wait_for_container.py), and fails at once if the container exits or restarts. Run again
    whenever the container is replaced (its ID is the trigger)."""
    return run_script(
        resource_name,
        "wait_for_container",
        {
            **command_env,
            "JHUB_CONTAINER": container_name,
            "JHUB_PROBE": json.dumps(probe),
            "JHUB_WHAT": what,
            "JHUB_READY_TIMEOUT": str(timeout),
        },
        pulumi.ResourceOptions(parent=parent),
        triggers=[container_id],
    )
