"""A workshop image with the lessons, a private registry, and a choice of images at spawn time."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import yaml

from tests.deployers import PROJECT_DIR
from tests.e2e.checkout import default_notebook_image
from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory, free_port
from tests.e2e.hubclient import HubUser

REGISTRY_USER = "teacher"
REGISTRY_PASSWORD = "registry-" + secrets.token_hex(8)
LESSON = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@dataclass
class Workshop:
    stack: Deployment
    registry_port: int
    lesson_context: Path

    @property
    def registry(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}/v2/"


def lesson_image_context(directory: Path) -> Path:
    """What a teacher writes: the default notebook image plus the lesson notebooks."""
    default_notebook_image(directory)
    (directory / "lessons").mkdir()
    (directory / "lessons" / "intro.ipynb").write_text(json.dumps(LESSON))
    with (directory / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("COPY --chown=1000:1000 lessons/ /home/jovyan/lessons/\n")
    return directory


@pytest.fixture(scope="module")
def workshop_images(make_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory) -> Workshop:
    context = lesson_image_context(tmp_path_factory.mktemp("intro-workshop"))
    port = free_port()
    stack = make_stack(
        {"type": "shared-password", "allowAll": True},
        secret_config={"auth.password": USER_PASSWORD, "registry.password": REGISTRY_PASSWORD},
        extra={
            "registry": {"enabled": True, "port": port, "username": REGISTRY_USER},
            "notebook": {
                "images": [
                    {"name": "Python", "build": {"context": "notebook"}},
                    {"name": "Intro workshop", "build": {"context": str(context)}},
                ],
                "default": "Python",
            },
        },
    )
    return Workshop(stack=stack, registry_port=port, lesson_context=context)


def spawn_with(user: HubUser, image: str) -> requests.Response:
    """Choose an image in the spawn form and press Start."""
    return user.submit_spawn_form({"image": image})


def container_image(engine: docker.DockerClient, stack: Deployment, user: str) -> str:
    return str(engine.containers.get(f"{stack.prefix}-user-{user}").attrs["Config"]["Image"])


def test_built_images_are_in_the_registry_behind_its_credentials(workshop_images: Workshop) -> None:
    refs: dict[str, str] = workshop_images.stack.outputs["notebookImages"]
    assert set(refs) == {"Python", "Intro workshop"}
    assert sorted(workshop_images.stack.outputs["registryImages"]) == sorted(refs.values())
    assert requests.get(workshop_images.registry + "_catalog", timeout=30).status_code == 401
    auth = (REGISTRY_USER, REGISTRY_PASSWORD)
    catalog = requests.get(workshop_images.registry + "_catalog", auth=auth, timeout=30).json()
    prefix = workshop_images.stack.prefix
    assert sorted(catalog["repositories"]) == [
        f"{prefix}/notebook-intro-workshop",
        f"{prefix}/notebook-python",
    ]
    for ref in refs.values():
        repository, tag = ref.split("/", 1)[1].rsplit(":", 1)
        tags = requests.get(f"{workshop_images.registry}{repository}/tags/list", auth=auth, timeout=30).json()
        assert tags["tags"] == [tag]


def test_users_choose_an_image_and_the_workshop_image_brings_the_lessons(
    workshop_images: Workshop, engine: docker.DockerClient
) -> None:
    stack, refs = workshop_images.stack, workshop_images.stack.outputs["notebookImages"]
    grace = HubUser(stack.url, "grace")
    grace.login(USER_PASSWORD)
    assert sorted(grace.spawn_form_choices("image")) == ["Intro workshop", "Python"]

    assert spawn_with(grace, "Intro workshop").status_code < 400
    grace.wait_ready()
    grace.server_get("lab")
    assert container_image(engine, stack, "grace") == refs["Intro workshop"]
    lessons = grace.get_contents("lessons").json()
    assert [item["name"] for item in lessons["content"]] == ["intro.ipynb"]

    grace.stop_server()
    assert spawn_with(grace, "Python").status_code < 400
    grace.wait_ready()
    assert container_image(engine, stack, "grace") == refs["Python"]


def test_an_image_not_in_the_list_cannot_be_requested(
    workshop_images: Workshop, engine: docker.DockerClient
) -> None:
    mallory = HubUser(workshop_images.stack.url, "mallory")
    mallory.login(USER_PASSWORD)
    refused = spawn_with(mallory, "local/debian:bookworm")
    assert refused.status_code == 400
    assert "Image local/debian:bookworm not in allowed list" in refused.text
    model = mallory.api("GET", "users/mallory").json()
    assert not (model.get("servers") or {}).get("", {}).get("ready")
    assert (
        engine.containers.list(all=True, filters={"name": f"{workshop_images.stack.prefix}-user-mallory"})
        == []
    )


def test_the_hub_pulls_a_missing_image_from_the_registry_with_its_credentials(
    workshop_images: Workshop, engine: docker.DockerClient
) -> None:
    ref = workshop_images.stack.outputs["notebookImages"]["Intro workshop"]
    engine.images.remove(ref)
    henry = HubUser(workshop_images.stack.url, "henry")
    henry.login(USER_PASSWORD)
    assert spawn_with(henry, "Intro workshop").status_code < 400
    henry.wait_ready(timeout=180)
    assert engine.images.get(ref), "pulled back from the registry"


def _reconfigure(stack: Deployment, change: dict[str, Any]) -> None:
    document = yaml.safe_load(stack.spec.config_file.read_text())
    document["config"].update({f"jupyterhub-docker:{k}": v for k, v in change.items()})
    stack.spec.config_file.write_text(yaml.safe_dump(document))
    stack.up()


def test_garbage_collection_removes_an_image_dropped_from_the_config(
    workshop_images: Workshop, engine: docker.DockerClient, tmp_path: Path
) -> None:
    stack = workshop_images.stack
    dropped = stack.outputs["notebookImages"]["Intro workshop"]
    for user in ("grace", "henry"):  # nothing may run the dropped image, or it is kept
        for container in engine.containers.list(filters={"name": f"{stack.prefix}-user-{user}"}):
            container.remove(force=True)
    _reconfigure(
        stack,
        {
            "notebook": {
                "images": [{"name": "Python", "build": {"context": "notebook"}}],
                "default": "Python",
            },
        },
    )
    assert list(stack.outputs["notebookImages"]) == ["Python"]
    keep = tmp_path / "keep.json"
    keep.write_text(json.dumps(stack.outputs["registryImages"]))
    result = subprocess.run(
        [
            sys.executable,
            "scripts/registry_gc.py",
            "--stack",
            stack.spec.name,
            "--keep-file",
            str(keep),
            "--registry",
            f"localhost:{workshop_images.registry_port}",
            "--username",
            REGISTRY_USER,
        ],
        cwd=PROJECT_DIR,
        env={"REGISTRY_PASSWORD": REGISTRY_PASSWORD, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"delete  {dropped}" in result.stdout
    auth = (REGISTRY_USER, REGISTRY_PASSWORD)
    repository = dropped.split("/", 1)[1].rsplit(":", 1)[0]
    tags = requests.get(f"{workshop_images.registry}{repository}/tags/list", auth=auth, timeout=30)
    assert tags.status_code == 404 or not tags.json().get("tags")

    ivy = HubUser(stack.url, "ivy")
    ivy.login(USER_PASSWORD)
    ivy.start_server()
    assert container_image(engine, stack, "ivy") == stack.outputs["notebookImages"]["Python"]
