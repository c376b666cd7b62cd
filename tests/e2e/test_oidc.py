"""An OpenID Connect provider: the whole authorization-code flow, claims and groups."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.deployers import extra_ca_file
from tests.e2e.conftest import Deployment, StackFactory, connect_when_created, free_port
from tests.e2e.hubclient import HubUser
from tests.peers.common import create_network
from tests.peers.oidc import peer as oidc

CLIENT_SECRET = "oidc-" + secrets.token_hex(16)
ACCOUNTS = {
    "alice": ("alice-" + secrets.token_hex(4), ["students", "admins"]),
    "bob": ("bob-" + secrets.token_hex(4), ["students"]),
    "carol": ("carol-" + secrets.token_hex(4), ["visitors"]),
}


@dataclass
class IdentityProvider:
    peer: oidc.OidcPeer
    ca_file: Path
    stack: Deployment


@pytest.fixture(scope="module")
def identity_provider(
    engine: docker.DockerClient, make_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IdentityProvider]:
    ca = extra_ca_file()
    oidc.build_image(engine, ca.read_text() if ca else None)
    stack_name = f"oidc{secrets.token_hex(2)}"
    hub_port, provider_port = free_port(), free_port()
    network = create_network(engine, f"peer-oidc-{secrets.token_hex(3)}", kind="oidc")
    name = f"peer-oidc-{secrets.token_hex(3)}"
    try:
        peer = oidc.start(
            engine,
            network.name,
            name,
            hostname="oidc.test",
            port=provider_port,
            clients=[
                {
                    "client_id": "jupyterhub",
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"http://127.0.0.1:{hub_port}/hub/oauth_callback"],
                }
            ],
            accounts=[
                {
                    "sub": f"sub-{user}",
                    "password": password,
                    "claims": {"preferred_username": user, "email": f"{user}@example.org", "groups": groups},
                }
                for user, (password, groups) in ACCOUNTS.items()
            ],
        )
        ca_file = tmp_path_factory.mktemp("oidc-ca") / "ca.pem"
        ca_file.write_text(peer.ca_pem)
        watcher = connect_when_created(engine, f"jhub-{stack_name}-net", name, peer.hostname)
        stack = make_stack(
            {
                "type": "oidc",
                "issuer": peer.issuer,
                "clientId": "jupyterhub",
                "scopes": ["openid", "profile", "email", "groups"],
                "usernameClaim": "preferred_username",
                "allowedGroups": ["students"],
                "adminGroups": ["admins"],
                "caCertificatesFile": str(ca_file),
            },
            secret_config={"auth.clientSecret": CLIENT_SECRET},
            extra={"publish": {"address": "127.0.0.1", "port": hub_port}},
            name=stack_name,
        )
        watcher.join(timeout=5)
        yield IdentityProvider(peer=peer, ca_file=ca_file, stack=stack)
    finally:
        oidc.stop(engine, name)
        network.remove()


def log_in_through_the_provider(idp: IdentityProvider, user: str, password: str) -> HubUser:
    """A person clicks "Sign in with OpenID Connect", fills in the provider's form, comes back."""
    person = HubUser(idp.stack.url, user).trusting(idp.ca_file)
    with oidc.resolve(idp.peer.hostname):
        form = person.session.get(idp.stack.url + "hub/oauth_login", timeout=30)
        assert form.url.startswith(idp.peer.issuer), form.url
        oidc.login(person.session, form, user, password, str(idp.ca_file))
    return person


def test_the_authorization_code_flow_logs_a_user_in_with_their_claims(
    identity_provider: IdentityProvider,
) -> None:
    alice = log_in_through_the_provider(identity_provider, "alice", ACCOUNTS["alice"][0])
    me = alice.api("GET", "user").json()
    assert me["name"] == "alice", "the username comes from the preferred_username claim"
    assert me["admin"] is True, "members of the admin group are admins"
    alice.start_server()

    bob = log_in_through_the_provider(identity_provider, "bob", ACCOUNTS["bob"][0])
    assert bob.api("GET", "user").json()["admin"] is False
    assert bob.api("GET", "users").status_code == 403


def test_a_user_outside_the_allowed_groups_is_refused(identity_provider: IdentityProvider) -> None:
    carol = log_in_through_the_provider(identity_provider, "carol", ACCOUNTS["carol"][0])
    assert not carol.logged_in()


def test_a_wrong_password_at_the_provider_never_reaches_the_hub(identity_provider: IdentityProvider) -> None:
    person = HubUser(identity_provider.stack.url, "bob").trusting(identity_provider.ca_file)
    with oidc.resolve(identity_provider.peer.hostname):
        form = person.session.get(identity_provider.stack.url + "hub/oauth_login", timeout=30)
        refused = oidc.login(person.session, form, "bob", "wrong-password", str(identity_provider.ca_file))
    assert refused.status_code == 401 and "Invalid login or password" in refused.text
    assert refused.url.startswith(identity_provider.peer.issuer), "no redirect back to the hub"
    assert not person.logged_in()
