"""The shell of whoever runs Pulumi cannot pick the stack's Docker client identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.stack import ConfigError
from plan.provider_environment import IDENTITY_VARIABLES, check_provider_environment
from tests.unit.conftest import preview


def test_a_clean_environment_passes() -> None:
    check_provider_environment({"DOCKER_HOST": "unix:///elsewhere.sock", "DOCKER_CERT_PATH": ""})


@pytest.mark.parametrize("variable", IDENTITY_VARIABLES)
def test_each_identity_variable_is_refused_naming_it_and_the_fix(variable: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_provider_environment({variable: "/home/someone/.docker/machine/certs"})
    (problem,) = refused.value.problems
    assert problem.startswith(f"environment: {variable} is set")
    assert f"env -u {variable} pulumi up" in problem


def test_the_program_refuses_a_docker_cert_path_in_its_environment(tmp_path: Path) -> None:
    result = preview(tmp_path, env={"DOCKER_CERT_PATH": str(tmp_path / "certs")})
    assert result.returncode == 1
    assert "environment: DOCKER_CERT_PATH is set" in result.stderr and "Traceback" not in result.stderr
