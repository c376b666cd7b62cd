"""A workshop on a shared password: participants log in, work, and keep their work."""

from __future__ import annotations

import time

import docker

from components.naming import LABEL_PROJECT, LABEL_STACK
from tests.e2e.conftest import ADMIN_PASSWORD, USER_PASSWORD, Deployment, hub_up
from tests.e2e.hubclient import HubUser


def wait_for_hub(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub_up(url):
            return
        time.sleep(0.5)
    raise AssertionError(f"hub at {url} did not come back within {timeout}s")


def test_participant_notebook_survives_a_hub_restart(
    workshop: Deployment, engine: docker.DockerClient
) -> None:
    alice = HubUser(workshop.url, "alice")
    assert 'name="password"' in alice.login_page().text

    assert alice.login(USER_PASSWORD).status_code == 200
    assert alice.logged_in()
    alice.start_server()

    # The server DockerSpawner made is the stack's: on its network, labelled, with its volume.
    container = engine.containers.get(f"{workshop.prefix}-user-alice")
    assert container.status == "running"
    assert container.labels[LABEL_STACK] == workshop.spec.name
    assert container.labels[LABEL_PROJECT] == "jupyterhub-docker"
    assert list(container.attrs["NetworkSettings"]["Networks"]) == [f"{workshop.prefix}-net"]
    volumes = {m["Name"]: m["Destination"] for m in container.attrs["Mounts"] if m["Type"] == "volume"}
    assert volumes == {f"{workshop.prefix}-home-alice": "/home/jovyan"}

    assert alice.put_notebook("lesson.ipynb", "1 + 1").status_code == 201

    hub = engine.containers.get(f"{workshop.prefix}-hub")
    hub.stop(timeout=10)
    try:
        assert not hub_up(workshop.url)
        # The proxy is its own container: alice's server keeps answering while the hub is down.
        during = alice.get_contents("lesson.ipynb")
        assert during.status_code == 200, during.text[:300]
    finally:
        hub.start()
    wait_for_hub(workshop.url)

    # The login cookie still works: the cookie secret and database live on the data volume.
    assert alice.logged_in()
    alice.stop_server()
    assert engine.containers.list(all=True, filters={"name": f"{workshop.prefix}-user-alice"}) == []
    alice.start_server()
    notebook = alice.get_contents("lesson.ipynb")
    assert notebook.status_code == 200
    assert notebook.json()["content"]["cells"][0]["source"] == "1 + 1"


def test_a_wrong_password_is_refused(workshop: Deployment) -> None:
    mallory = HubUser(workshop.url, "mallory")
    assert mallory.login("not-the-workshop-password").status_code == 403
    assert not mallory.logged_in()


def test_only_admins_list_users_through_the_rest_api(workshop: Deployment) -> None:
    bob = HubUser(workshop.url, "bob")
    assert bob.login(USER_PASSWORD).status_code == 200
    assert bob.api("GET", "users").status_code == 403

    # Admins need the admin password; the participants' password does not make anyone admin.
    teacher = HubUser(workshop.url, "teacher")
    teacher.login(USER_PASSWORD)
    assert not teacher.logged_in()
    assert teacher.login(ADMIN_PASSWORD).status_code == 200
    users = teacher.api("GET", "users")
    assert users.status_code == 200
    names = {user["name"]: user["admin"] for user in users.json()}
    assert names["teacher"] is True
    assert names["bob"] is False
