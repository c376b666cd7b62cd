"""Hostile usernames at the login form and the spawn: very long, non-Latin, path-like, URL-encoded,
differing only by case or by DockerSpawner's escaping. No 500 anywhere; distinct users never
share a container or a home volume; one user under two spellings gets the same ones."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
import requests

from tests.e2e.conftest import USER_PASSWORD, Deployment
from tests.e2e.hubclient import HubUser

# Typed at the login form -> the user JupyterHub makes of it (it lower-cases names).
ACCEPTED = {
    # Far past the 255 bytes a volume name may have once escaped (x stays x; é is 9 chars).
    "x" * 300: "x" * 300,
    "é" * 40: "é" * 40,
    "Zoë-日本語": "zoë-日本語",
    "a%2Fb": "a%2fb",
    "a-b": "a-b",
    "a-2db": "a-2db",
    "Ann": "ann",
    "ann": "ann",
    "..x": "..x",
}
# JupyterHub refuses these at login (a '/', or only dots): a login failure, not an error.
REFUSED = ["../x", "a/b", ".."]


def home_of(container: docker.models.containers.Container) -> str:
    return str(next(m["Name"] for m in container.attrs["Mounts"] if m["Destination"] == "/home/jovyan"))


def user_of(container: docker.models.containers.Container) -> str:
    env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
    return str(env["JUPYTERHUB_USER"])


@pytest.fixture
def servers_stopped(workshop: Deployment, engine: docker.DockerClient) -> Iterator[None]:
    """The shared workshop stack's other tests find no extra servers running afterwards."""
    yield
    for name in set(ACCEPTED.values()):
        person = HubUser(workshop.url, name)
        if person.login(USER_PASSWORD).status_code == 200 and person.logged_in():
            model = person.api("GET", "user").json()
            if model.get("servers"):
                person.stop_server()


def test_hostile_usernames_never_error_and_never_share_a_container_or_volume(
    workshop: Deployment, engine: docker.DockerClient, servers_stopped: None
) -> None:
    responses: list[requests.Response] = []

    def person(typed: str, name: str) -> HubUser:
        user = HubUser(workshop.url, name)
        user.session.hooks["response"].append(lambda response, *args, **kwargs: responses.append(response))
        user.login(USER_PASSWORD, username=typed)
        return user

    for typed in REFUSED:
        refused = person(typed, typed)
        assert not refused.logged_in(), typed

    containers: dict[str, tuple[str, str]] = {}  # typed name -> (container, home volume)
    for typed, name in ACCEPTED.items():
        user = person(typed, name)
        assert user.logged_in(), f"{typed!r} could not log in as {name!r}"
        user.start_server()
        assert user.run_code("1 + 1") == "2", typed
        prefix = f"{workshop.prefix}-user-"
        found = [
            c
            # This stack's only (the name filter): listing the other worker's too would inspect
            # containers it may be removing at that moment.
            for c in engine.containers.list(
                filters={"label": "org.jupyterhub-docker.role=user-server", "name": prefix}
            )
            if c.name.startswith(prefix) and user_of(c) == name
        ]
        assert len(found) == 1, (typed, [c.name for c in found])
        containers[typed] = (found[0].name, home_of(found[0]))
        # Hardened like every user container (spawner defaults).
        host = found[0].attrs["HostConfig"]
        assert (host["CapDrop"], host["PidsLimit"], host["SecurityOpt"]) == (
            ["ALL"],
            1024,
            ["no-new-privileges:true"],
        )

    errors = [(r.request.method, r.url[:120], r.status_code) for r in responses if r.status_code >= 500]
    assert errors == []
    # The same user under two spellings: the same server and home.
    assert containers["Ann"] == containers["ann"]
    # Distinct users: distinct containers and volumes, none longer than a file name may be.
    distinct = {name: containers[typed] for typed, name in ACCEPTED.items()}
    assert len({c for c, _ in distinct.values()}) == len(distinct), distinct
    assert len({v for _, v in distinct.values()}) == len(distinct), distinct
    assert all(len(volume) <= 255 for _, volume in distinct.values())
