"""The scripts `up` runs on the Docker host before anything is created (components/scripts/),
run as pulumi-command runs them, against the real engine."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator

import docker
import pytest

from components.images import JUPYTERHUB_VERSION_LABEL
from tests.deployers import PROJECT_DIR

SCRIPTS = PROJECT_DIR / "components" / "scripts"
BASE = "local/python:3.11-bookworm"


def run_script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def labelled_images(engine: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Images whose label states a JupyterHub version while none is installed in them: what the
    label says can be told apart from what Python in the image would say."""
    tags = {}
    for version in ("4.1.6", "5.5.4"):
        tag = f"local/version-label:{version}"
        dockerfile = f"FROM {BASE}\nLABEL {JUPYTERHUB_VERSION_LABEL}={version}\n"
        engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
        tags[version] = tag
    yield tags
    for tag in tags.values():
        engine.images.remove(tag, force=True)


def version_check(image: str, *, trust_label: bool) -> subprocess.CompletedProcess[str]:
    env = {"JHUB_IMAGE": image, "JHUB_EXPECTED_VERSION": "5.5.4"}
    if trust_label:
        env["JHUB_VERSION_LABEL"] = JUPYTERHUB_VERSION_LABEL
    return run_script("check_jupyterhub_version", env)


def test_the_project_notebook_build_is_checked_by_its_label(labelled_images: dict[str, str]) -> None:
    refused = version_check(labelled_images["4.1.6"], trust_label=True)
    assert refused.returncode != 0
    assert "has JupyterHub 4.1.6, the hub has 5.5.4: the major versions must match" in refused.stderr
    accepted = version_check(labelled_images["5.5.4"], trust_label=True)
    assert accepted.returncode == 0, accepted.stderr
    assert "JupyterHub 5.5.4 matches the hub's 5.5.4" in accepted.stdout


def test_any_other_image_is_asked_whatever_its_label_says(labelled_images: dict[str, str]) -> None:
    # Not built from notebook/: the label is not trusted, and Python in the image finds no
    # JupyterHub at all.
    asked = version_check(labelled_images["5.5.4"], trust_label=False)
    assert asked.returncode != 0
    assert "cannot read its JupyterHub version" in asked.stderr
    # Trusted, but without the label: asked as well.
    unlabelled = version_check(BASE, trust_label=True)
    assert unlabelled.returncode != 0
    assert "cannot read its JupyterHub version" in unlabelled.stderr
