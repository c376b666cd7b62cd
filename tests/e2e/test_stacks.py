"""Stacks on one engine: side by side, re-applied, and destroyed without leftovers."""

from __future__ import annotations

import io
import secrets

import docker
import pytest

from plan.build import hub_jupyterhub_version
from tests import janitor
from tests.deployers import PROJECT_DIR, DeployError
from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory, hub_up, stack_objects
from tests.e2e.hubclient import HubUser

SHARED = {"type": "shared-password", "allowedUsers": ["dana"]}


def test_two_stacks_run_side_by_side_without_colliding(
    workshop: Deployment, native: Deployment, engine: docker.DockerClient
) -> None:
    assert workshop.url != native.url
    assert hub_up(workshop.url) and hub_up(native.url)
    ours = stack_objects(engine, workshop.spec.name)
    theirs = stack_objects(engine, native.spec.name)
    for kind in ("containers", "volumes", "networks"):
        assert ours[kind] and theirs[kind]
        assert not set(ours[kind]) & set(theirs[kind]), kind
    hub = engine.containers.get(f"{native.prefix}-hub")
    assert sorted(hub.attrs["NetworkSettings"]["Networks"]) == [
        f"{native.prefix}-docker-api-net",
        f"{native.prefix}-net",
        f"{native.prefix}-users",
    ]


def test_applying_the_same_config_again_changes_nothing(
    workshop: Deployment, engine: docker.DockerClient
) -> None:
    before = {
        name: c.id
        for name, _, c in janitor.listed_containers(engine)
        if name.startswith(workshop.prefix + "-")
    }
    # The plan of a second `up` has no step that changes anything (`--expect-no-changes`).
    outputs = workshop.up(expect_no_changes=True)
    after = {
        name: c.id
        for name, _, c in janitor.listed_containers(engine)
        if name.startswith(workshop.prefix + "-")
    }
    assert outputs["url"] == workshop.url
    assert after == before


def test_destroy_with_a_server_running_leaves_nothing_of_the_stack(
    make_stack: StackFactory, engine: docker.DockerClient
) -> None:
    stack = make_stack(SHARED, secret_config={"auth.password": USER_PASSWORD})
    dana = HubUser(stack.url, "dana")
    dana.login(USER_PASSWORD)
    dana.start_server()
    assert f"{stack.prefix}-user-dana" in stack_objects(engine, stack.spec.name)["containers"]

    stack.destroy()
    assert stack_objects(engine, stack.spec.name) == {"containers": [], "volumes": [], "networks": []}


def test_a_stack_that_keeps_data_leaves_exactly_its_data_volumes(
    make_stack: StackFactory, engine: docker.DockerClient
) -> None:
    stack = make_stack(SHARED, secret_config={"auth.password": USER_PASSWORD}, extra={"keepData": True})
    try:
        dana = HubUser(stack.url, "dana")
        dana.login(USER_PASSWORD)
        dana.start_server()
        assert dana.put_notebook("thesis.ipynb", "x = 42").status_code == 201

        stack.destroy()
        left = stack_objects(engine, stack.spec.name)
        assert left == {
            "containers": [],
            "volumes": [f"{stack.prefix}-data", f"{stack.prefix}-home-dana"],
            "networks": [],
        }

        # Deploying the stack again picks the kept data up: the user and the file are back.
        stack.up()
        stack.destroyed = False
        dana = HubUser(stack.url, "dana")
        dana.login(USER_PASSWORD)
        dana.start_server()
        assert dana.get_contents("thesis.ipynb").json()["content"]["cells"][0]["source"] == "x = 42"
    finally:
        if not stack.destroyed:
            stack.destroy()
        for name in stack_objects(engine, stack.spec.name)["volumes"]:
            engine.volumes.get(name).remove(force=True)


def test_a_notebook_image_with_another_jupyterhub_major_is_refused_before_the_hub_starts(
    make_stack: StackFactory, engine: docker.DockerClient
) -> None:
    # An image that claims JupyterHub 4.1.6: what an old single-user image would carry.
    dockerfile = (
        "FROM local/python:3.11-bookworm\n"
        "RUN mkdir -p /usr/lib/python3/dist-packages/jupyterhub && "
        "echo \"__version__ = '4.1.6'\" > /usr/lib/python3/dist-packages/jupyterhub/__init__.py\n"
    )
    engine.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag="local/old-notebook:jupyterhub4", rm=True
    )
    name = f"old{secrets.token_hex(2)}"
    with pytest.raises(DeployError) as failure:
        make_stack(
            SHARED,
            secret_config={"auth.password": USER_PASSWORD},
            extra={"notebook": {"image": "local/old-notebook:jupyterhub4"}},
            name=name,
        )
    hub_version = hub_jupyterhub_version(PROJECT_DIR)
    expected = f"local/old-notebook:jupyterhub4 has JupyterHub 4.1.6, the hub has {hub_version}"
    assert f"notebook image {expected}" in str(failure.value)
    assert f"jhub-{name}-hub" not in stack_objects(engine, name)["containers"]
