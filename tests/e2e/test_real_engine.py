"""The program under the real engine's rules, driven as people drive it: preview, up, destroy.

Failed deploys (a port already taken, a hub that cannot start) leave nothing behind once the
stack is destroyed; previews say what `up` then does.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import docker
import pytest

from tests.deployers import Deployer, DeployError
from tests.e2e.checkout import fresh_checkout
from tests.e2e.conftest import (
    ADMIN_PASSWORD,
    TEST_IMAGES,
    USER_PASSWORD,
    Deployment,
    StackFactory,
    free_port,
    hub_up,
    stack_factory,
    stack_objects,
)
from tests.e2e.hubclient import HubUser

NOTHING: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}
SHARED = {"type": "shared-password", "allowAll": True}


# --- 15. ports ---------------------------------------------------------------------------------
def _up_on_port(make_stack: StackFactory, port: int) -> tuple[Deployment, str]:
    """A new stack published on `port`, whose first `up` must fail; and its message."""
    stack = make_stack(
        SHARED,
        secret_config={"auth.password": USER_PASSWORD},
        extra={"publish": {"address": "127.0.0.1", "port": port}},
        deploy=False,
    )
    with pytest.raises(DeployError) as failure:
        stack.up()
    return stack, str(failure.value)


def test_real_engine_a_port_another_stack_publishes_fails_before_anything_is_created(
    make_test_stack: StackFactory, workshop: Deployment, engine: docker.DockerClient
) -> None:
    taken = int(workshop.url.rstrip("/").rsplit(":", 1)[1])
    stack, message = _up_on_port(make_test_stack, taken)
    assert (
        f"publish.port: port {taken} on 127.0.0.1 is already published by container "
        f"{workshop.prefix}-proxy of stack '{workshop.spec.name}'"
    ) in message
    assert "pulumi config set --path publish.port" in message
    assert stack_objects(engine, stack.spec.name) == NOTHING
    stack.destroy()
    assert stack_objects(engine, stack.spec.name) == NOTHING
    assert hub_up(workshop.url), "the other stack is untouched"


def test_real_engine_a_port_a_process_holds_fails_before_anything_is_created(
    make_test_stack: StackFactory, engine: docker.DockerClient
) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        port = held.getsockname()[1]
        stack, message = _up_on_port(make_test_stack, port)
    assert f"publish.port: port {port} on 127.0.0.1 is taken on the Docker host by a process" in message
    assert stack_objects(engine, stack.spec.name) == NOTHING
    stack.destroy()
    assert stack_objects(engine, stack.spec.name) == NOTHING


# --- 8 and 14. a hub that cannot start ---------------------------------------------------------
def test_real_engine_a_hub_that_cannot_start_fails_up_and_destroy_leaves_nothing(
    deployer: Deployer, tmp_path: Path, engine: docker.DockerClient
) -> None:
    # A checkout whose hub configuration fails at start, as a bad upgrade of hub/ would.
    checkout = fresh_checkout(tmp_path / "checkout")
    config = checkout / "hub" / "jupyterhub_config.py"
    config.write_text('raise SystemExit("this hub cannot start")\n' + config.read_text())
    broken = deployer.in_checkout(checkout)
    with stack_factory(broken, tmp_path / "stacks") as make:
        stack = make(SHARED, secret_config={"auth.password": USER_PASSWORD}, deploy=False)
        started = time.monotonic()
        with pytest.raises(DeployError) as failure:
            stack.up()
        # The readiness step sees the hub exit and restart, and says so with its log, at once:
        # not after the 60 s it would give a hub that is slow to answer.
        assert "cannot start" in str(failure.value) and "this hub cannot start" in str(failure.value)
        assert time.monotonic() - started < 60, "up waited out its timeout instead of failing at once"
        assert f"{stack.prefix}-hub" in stack_objects(engine, stack.spec.name)["containers"]
        stack.destroy()
        assert stack_objects(engine, stack.spec.name) == NOTHING


# --- previews ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planned(make_stack: StackFactory) -> Deployment:
    """A stack whose config the preview tests change, one edit at a time."""
    return make_stack(
        {"type": "shared-password", "admins": ["teacher"], "allowAll": True},
        secret_config={"auth.password": USER_PASSWORD, "auth.adminPassword": ADMIN_PASSWORD},
    )


def _plan_then_up(stack: Deployment, deployer: Deployer) -> dict[str, str]:
    """Preview, then up: the up must do exactly what the preview said; returns that plan."""
    previewed = deployer.preview(stack.spec)
    stack.up()
    assert deployer.last_plan == previewed, "up did what the preview said"
    return previewed


READINESS = {"jupyterhub-readiness-check": "replace"}


def test_real_engine_previews_say_what_up_does_for_the_changes_people_make(
    planned: Deployment, deployer: Deployer, engine: docker.DockerClient
) -> None:
    assert deployer.preview(planned.spec) == {}, "nothing to do on a deployed stack"
    proxy_id = engine.containers.get(f"{planned.prefix}-proxy").id

    # A new shared password: the hub only (users' servers, the proxy and the data stay).
    planned.spec.secrets["auth.password"] = USER_PASSWORD + "-new"
    assert _plan_then_up(planned, deployer) == {"jupyterhub-hub-container": "replace", **READINESS}

    # A new admin: the hub only.
    planned.configure(auth={"type": "shared-password", "admins": ["teacher", "ta"], "allowAll": True})
    assert _plan_then_up(planned, deployer) == {"jupyterhub-hub-container": "replace", **READINESS}
    assert engine.containers.get(f"{planned.prefix}-proxy").id == proxy_id, "the proxy kept running"

    # keepData on: the destroy-time cleanup learns it; nothing is replaced.
    planned.configure(keepData=True)
    assert _plan_then_up(planned, deployer) == {"jupyterhub-user-servers-cleanup": "update"}
    planned.configure(keepData=False)
    assert _plan_then_up(planned, deployer) == {"jupyterhub-user-servers-cleanup": "update"}

    # A new proxy image: the proxy (and the port check, which runs from it); not the hub.
    engine.images.get(TEST_IMAGES["proxy"]).tag("local/configurable-http-proxy", "bookworm-bumped")
    images = planned.config["jupyterhub-docker:images"]
    planned.configure(images={**images, "proxy": "local/configurable-http-proxy:bookworm-bumped"})
    assert _plan_then_up(planned, deployer) == {
        "jupyterhub-host-probe-image": "replace",
        "jupyterhub-host-ports": "update",
        "jupyterhub-proxy-container": "replace",
        **READINESS,
    }
    teacher = HubUser(planned.url, "teacher")
    teacher.login(ADMIN_PASSWORD)
    assert teacher.logged_in(), "the hub reached the new proxy without being replaced"


def test_real_engine_previews_an_added_image_and_tls(
    make_test_stack: StackFactory, deployer: Deployer, tmp_path: Path
) -> None:
    stack = make_test_stack(SHARED, secret_config={"auth.password": USER_PASSWORD})

    stack.configure(
        notebook={
            "images": [
                {"name": "Default", "build": {"context": "notebook"}},
                {"name": "Python", "image": stack.outputs["notebookImages"]["Default"]},
            ]
        }
    )
    assert deployer.preview(stack.spec) == {
        # The image's component, then what it holds (the real CLI lists components too).
        "jupyterhub-notebook-python": "create",
        "jupyterhub-notebook-python-pull": "create",
        "jupyterhub-notebook-python-version-check": "create",
        "jupyterhub-hub-container": "replace",
        # Its policy allows exactly the stack's images: the new one too, from now on.
        "jupyterhub-docker-api-container": "replace",
        **READINESS,
    }

    stack.configure(
        tls={"mode": "self-signed", "domain": "hub.test"},
        publish={"address": "127.0.0.1", "port": free_port(), "httpsPort": free_port()},
    )
    planned = deployer.preview(stack.spec)
    assert planned["jupyterhub-edge-container"] == "create"
    assert planned["jupyterhub-proxy-container"] == "replace", "no longer published"
    assert planned["jupyterhub-host-ports"] == "replace", "the new ports are checked"
    assert planned["jupyterhub-certificate-cert"] == "create"
    stack.up()
    assert stack.url.startswith("https://hub.test:")


# --- the Pulumi CLI, where it is installed -------------------------------------------------------
def test_real_engine_preview_up_up_again_and_destroy(
    make_test_stack: StackFactory, deployer: Deployer, engine: docker.DockerClient
) -> None:
    stack = make_test_stack(SHARED, secret_config={"auth.password": USER_PASSWORD}, deploy=False)
    assert deployer.preview(stack.spec), "a new stack's preview creates resources"
    stack.up()
    assert hub_up(stack.url)
    stack.up(expect_no_changes=True)
    stack.destroy()
    assert stack_objects(engine, stack.spec.name) == NOTHING
