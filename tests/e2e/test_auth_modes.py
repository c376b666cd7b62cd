"""Login modes without an outside identity server: first use, anonymous demo, GitHub's redirect."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlparse

import docker
import requests

from tests.e2e.conftest import Deployment, StackFactory
from tests.e2e.hubclient import HubUser


def test_first_use_sets_the_password_and_it_survives_a_hub_restart(
    make_test_stack: StackFactory, engine: docker.DockerClient
) -> None:
    stack = make_test_stack({"type": "firstuse", "allowAll": True, "minimumPasswordLength": 10})
    # Dots, @ and upper case: normalised like the authenticator does, and DockerSpawner's
    # container and volume names stay valid.
    login_name, name = "Erin.Smith@Example.org", "erin.smith@example.org"
    first = secrets.token_urlsafe(12)

    erin = HubUser(stack.url, name)
    erin.login("too-short", username=login_name)
    assert not erin.logged_in(), "a first password under minimumPasswordLength is refused"
    erin.login(first, username=login_name)
    assert erin.logged_in(), "the first login sets the password"
    erin.start_server()
    container = engine.containers.get(f"{stack.prefix}-user-erin-2esmith-40example-2eorg")
    assert container.status == "running"
    assert f"{stack.prefix}-home-erin-2esmith-40example-2eorg" in {
        m.get("Name") for m in container.attrs["Mounts"]
    }

    imposter = HubUser(stack.url, name)
    imposter.login(secrets.token_urlsafe(12), username=login_name)
    assert not imposter.logged_in(), "a different password is refused afterwards"

    engine.containers.get(f"{stack.prefix}-hub").restart(timeout=10)
    again = HubUser(stack.url, name)
    assert again.wait_for_hub_and_login(first, username=login_name), (
        "the password set on first use still holds after a hub restart"
    )
    stranger = HubUser(stack.url, name)
    stranger.login("another-password-1", username=login_name)
    assert not stranger.logged_in()


def test_an_anonymous_demo_gives_a_running_server_without_an_account(make_test_stack: StackFactory) -> None:
    stack = make_test_stack({"type": "anonymous"}, extra={"demo": True})
    visitor = HubUser(stack.url, "")
    response = visitor.session.get(visitor.url("hub/tmplogin"), timeout=60)
    assert response.status_code == 200
    me = visitor.api("GET", "user").json()
    visitor.name = me["name"]
    assert visitor.name, "a throwaway user was created"
    server = visitor.wait_ready()
    assert server["ready"]
    assert visitor.server_get("lab").status_code == 200


def test_github_login_redirects_to_github_with_the_client_callback_and_scopes(
    make_test_stack: StackFactory,
) -> None:
    stack: Deployment = make_test_stack(
        {
            "type": "github",
            "clientId": "Iv1.workshop-client",
            "allowedOrganizations": ["jupyter-workshops:instructors"],
        },
        secret_config={"auth.clientSecret": "gh-" + secrets.token_hex(20)},
    )
    login_page = requests.get(stack.url + "hub/login", timeout=30)
    assert login_page.status_code == 200 and "GitHub" in login_page.text

    redirect = requests.get(stack.url + "hub/oauth_login", allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    location = urlparse(redirect.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "github.com",
        "/login/oauth/authorize",
    )
    query = parse_qs(location.query)
    assert query["client_id"] == ["Iv1.workshop-client"]
    assert query["redirect_uri"] == [stack.url + "hub/oauth_callback"]
    assert set(query["scope"][0].split()) == {"read:user", "read:org"}
    assert query["response_type"] == ["code"] and query["state"][0]
