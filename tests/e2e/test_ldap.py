"""A university directory: LDAP users log in, groups decide who gets in and who is admin."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.conftest import Deployment, StackFactory
from tests.e2e.hubclient import HubUser
from tests.peers.common import create_network
from tests.peers.ldap import peer as ldap


@pytest.fixture(scope="module")
def directory(
    engine: docker.DockerClient, make_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ldap.LdapPeer, Path]]:
    """slapd with users and groups, TLS from its own CA. Requesting make_stack first makes the
    peer go before the stacks are destroyed: a container still attached blocks a network's removal."""
    network = create_network(engine, f"peer-ldap-{secrets.token_hex(3)}", kind="ldap")
    name = f"peer-ldap-{secrets.token_hex(3)}"
    try:
        directory = ldap.start(engine, network.name, name, hostname="ldap")
        ca_file = tmp_path_factory.mktemp("ldap-ca") / "ca.pem"
        ca_file.write_text(directory.ca_pem)
        yield directory, ca_file
    finally:
        ldap.stop(engine, name)
        network.remove()


def join(engine: docker.DockerClient, directory: ldap.LdapPeer, stack: Deployment) -> None:
    """Put the directory on the stack's network under the name the hub is configured with."""
    engine.networks.get(stack.outputs["network"]).connect(
        directory.container_name, aliases=[directory.hostname]
    )


@pytest.fixture(scope="module")
def ldap_bind_stack(
    engine: docker.DockerClient, make_stack: StackFactory, directory: tuple[ldap.LdapPeer, Path]
) -> Deployment:
    peer, ca_file = directory
    stack = make_stack(
        {
            "type": "ldap",
            "serverAddress": peer.hostname,
            "tlsStrategy": "before_bind",
            "bindDnTemplates": ["uid={username}," + peer.people_dn],
            "allowedGroups": [peer.group_dn("jupyterhub-users")],
            "adminGroups": [peer.group_dn("jupyterhub-admins")],
            "caCertificatesFile": str(ca_file),
        }
    )
    join(engine, peer, stack)
    return stack


@pytest.fixture(scope="module")
def ldap_lookup_stack(
    engine: docker.DockerClient, make_stack: StackFactory, directory: tuple[ldap.LdapPeer, Path]
) -> Deployment:
    peer, ca_file = directory
    stack = make_stack(
        {
            "type": "ldap",
            "serverAddress": peer.hostname,
            "tlsStrategy": "on_connect",
            "lookup": {"searchBase": peer.people_dn, "userAttribute": "uid", "searchUser": peer.reader_dn},
            "allowedGroups": [peer.group_dn("jupyterhub-users")],
            "caCertificatesFile": str(ca_file),
        },
        secret_config={"auth.lookup.searchPassword": peer.reader_password},
    )
    join(engine, peer, stack)
    return stack


def test_directory_members_log_in_and_the_admin_group_makes_admins(
    ldap_bind_stack: Deployment, directory: tuple[ldap.LdapPeer, Path]
) -> None:
    peer, _ = directory
    alice = HubUser(ldap_bind_stack.url, "alice")
    alice.login(peer.users["alice"])
    assert alice.logged_in()
    alice.start_server()
    assert alice.api("GET", "users").status_code == 200, "alice is in the admin group"

    bob = HubUser(ldap_bind_stack.url, "bob")
    bob.login("not-" + peer.users["bob"])
    assert not bob.logged_in(), "a wrong password is refused"
    bob.login(peer.users["bob"])
    assert bob.logged_in()
    assert bob.api("GET", "users").status_code == 403, "bob is not in the admin group"

    carol = HubUser(ldap_bind_stack.url, "carol")
    carol.login(peer.users["carol"])
    assert not carol.logged_in(), "carol is in the directory but not in the allowed group"


def test_a_lookup_with_a_search_user_over_ldaps(
    ldap_lookup_stack: Deployment, directory: tuple[ldap.LdapPeer, Path]
) -> None:
    peer, _ = directory
    bob = HubUser(ldap_lookup_stack.url, "bob")
    bob.login(peer.users["bob"])
    assert bob.logged_in()
    assert bob.api("GET", "user").json()["name"] == "bob"

    alice = HubUser(ldap_lookup_stack.url, "alice")
    alice.login(peer.users["bob"])
    assert not alice.logged_in(), "another user's password is refused"

    carol = HubUser(ldap_lookup_stack.url, "carol")
    carol.login(peer.users["carol"])
    assert not carol.logged_in()
