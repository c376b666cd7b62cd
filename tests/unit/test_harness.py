"""The harness refuses what it does not implement, and executes what it does for real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.probe import Probe
from tests.harness.handlers import handler_for
from tests.harness.state import Record
from tests.harness.steps import deletion_order
from tests.harness.values import HarnessError, check_schema


def run_program(tmp_path: Path, body: str, action: str = "up") -> subprocess.CompletedProcess[str]:
    """A probe program without a Docker provider (nothing here needs an engine)."""
    probe = Probe(tmp_path)
    if action != "destroy":
        probe.program(body, provider=False)
    return probe.run(action)


def test_an_input_the_harness_does_not_implement_fails_the_run(tmp_path: Path) -> None:
    result = run_program(tmp_path, 'command.local.Command("c", create="true", stdin="data")\n')
    assert result.returncode == 2
    assert "input c.stdin is not implemented by the harness" in result.stderr


def test_a_nested_unknown_input_fails_too() -> None:
    schema = {"healthcheck": {"tests": [str]}}
    with pytest.raises(HarnessError, match=r"c.healthcheck.interval is not implemented"):
        check_schema(schema, {"healthcheck": {"tests": ["CMD"], "interval": "5s"}}, "c")


def test_a_resource_type_the_harness_does_not_implement_fails_the_run(tmp_path: Path) -> None:
    result = run_program(tmp_path, 'random.RandomUuid("u")\n')
    assert result.returncode == 2
    assert "random:index/randomUuid:RandomUuid is not implemented by the harness" in result.stderr
    with pytest.raises(HarnessError):
        handler_for("docker:index/service:Service")


def test_a_resource_option_the_harness_does_not_implement_fails_the_run(tmp_path: Path) -> None:
    body = (
        'command.local.Command("c", create="true", '
        'opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="b")]))\n'
    )
    result = run_program(tmp_path, body)
    assert result.returncode == 2
    assert "option aliases is not implemented" in result.stderr


def test_a_docker_resource_on_the_disabled_default_provider_fails(tmp_path: Path) -> None:
    result = run_program(tmp_path, 'docker.Network("n", name="probe-net")\n')
    assert result.returncode == 2
    assert "uses the default docker provider, which Pulumi.yaml disables" in result.stderr


def test_commands_run_for_real_on_up_and_their_delete_runs_on_destroy(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    body = f"""
    c = command.local.Command(
        "c",
        create="echo created > {marker} && echo hello",
        delete="rm {marker}",
    )
    pulumi.export("said", c.stdout)
    """
    up = run_program(tmp_path, body)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["outputs"]["said"] == "hello"
    assert marker.read_text() == "created\n"

    again = run_program(tmp_path, body)
    assert again.returncode == 0 and "same       command:local:Command c" in again.stderr

    down = run_program(tmp_path, "", action="destroy")
    assert down.returncode == 0, down.stderr
    assert not marker.exists()


def test_a_failing_command_fails_the_run_with_its_output(tmp_path: Path) -> None:
    result = run_program(tmp_path, 'command.local.Command("c", create="echo broken >&2; exit 3")\n')
    assert result.returncode == 2
    assert "exit code 3" in result.stderr and "broken" in result.stderr


def _record(urn: str, deps: list[str]) -> Record:
    return Record(urn=urn, type="t", name=urn, id=urn, inputs={}, outputs={}, dependencies=deps)


def test_deletion_runs_dependents_first() -> None:
    records = [
        _record("net", []),
        _record("vol", []),
        _record("cleanup", ["net", "vol"]),
        _record("hub", ["cleanup", "net"]),
    ]
    assert [r.urn for r in deletion_order(records)] == ["hub", "cleanup", "vol", "net"]
