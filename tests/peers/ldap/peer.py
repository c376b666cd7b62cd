"""An OpenLDAP directory in a container, for tests of JupyterHub's LDAPAuthenticator.

The image (Dockerfile, entrypoint.sh and seed.ldif beside this file) is built from
``local/debian:bookworm`` with Debian's slapd (OpenLDAP 2.5). Each container makes, on its first
start, a throwaway CA and a server certificate for its network alias (plus ``localhost``), and
serves ``dc=example,dc=org`` on port 389 (plain and StartTLS) and 636 (ldaps). The CA certificate
is at ``/certs/ca.pem`` in the container and in :attr:`LdapPeer.ca_pem`.

Seeded directory (see seed.ldif)::

    cn=admin,dc=example,dc=org            rootdn, password admin-secret (no entry)
    cn=reader,dc=example,dc=org           search account, password reader-password
    uid=alice,ou=people,dc=example,dc=org   alice-password  jupyterhub-users, jupyterhub-admins
    uid=bob,ou=people,dc=example,dc=org     bob-password    jupyterhub-users
    uid=carol,ou=people,dc=example,dc=org   carol-password  (no group)
    cn=jupyterhub-users,ou=groups,dc=example,dc=org    groupOfNames, member: alice, bob
    cn=jupyterhub-admins,ou=groups,dc=example,dc=org   groupOfNames, member: alice

Access: any bound user (reader, alice, ...) may read everything but userPassword; anonymous
clients may only bind and read the root DSE and the schema. Users carry ``memberOf`` (the memberof
overlay). Usage::

    build_image(client)
    peer = start(client, network="my-net", name="my-ldap", hostname="ldap")
    try:
        ...  # other containers on my-net reach ldap://ldap:389 (StartTLS) and ldaps://ldap:636
    finally:
        stop(client, peer.container_name)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

from tests.peers import common

IMAGE = "local/peer-ldap:1"
LABEL = common.LABEL
DIGEST_LABEL = common.DIGEST_LABEL  # digest of the files the image is built from
CONTEXT = Path(__file__).resolve().parent
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "entrypoint.sh", "seed.ldif")
_KIND = "ldap"

BASE_DN = "dc=example,dc=org"
PEOPLE_DN = f"ou=people,{BASE_DN}"
GROUPS_DN = f"ou=groups,{BASE_DN}"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-secret"
READER_DN = f"cn=reader,{BASE_DN}"
READER_PASSWORD = "reader-password"
USERS: dict[str, str] = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}
GROUPS: dict[str, tuple[str, ...]] = {"jupyterhub-users": ("alice", "bob"), "jupyterhub-admins": ("alice",)}
CA_PATH = "/certs/ca.pem"  # inside the container


@dataclass(frozen=True)
class LdapPeer:
    container_name: str
    hostname: str  # the network alias other containers use
    base_dn: str  # "dc=example,dc=org"
    admin_dn: str
    admin_password: str
    reader_dn: str
    reader_password: str
    ca_pem: str  # the CA certificate the server cert chains to
    users: dict[str, str]  # uid -> password, as seeded

    @property
    def people_dn(self) -> str:
        return f"ou=people,{self.base_dn}"

    @property
    def groups_dn(self) -> str:
        return f"ou=groups,{self.base_dn}"

    @property
    def ldap_url(self) -> str:
        """Plain LDAP, port 389; StartTLS is offered there."""
        return f"ldap://{self.hostname}:389"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.hostname}:636"

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},{self.groups_dn}"


def build_image(client: docker.DockerClient) -> str:
    """Build IMAGE from this directory unless an image built from the same files is present."""
    digest = common.context_digest(CONTEXT, CONTEXT_FILES)
    return common.build_image(client, IMAGE, CONTEXT, kind=_KIND, digest=digest, digest_label=DIGEST_LABEL)


def _ready(container: Container) -> bool:
    """True once the seeded directory answers over both StartTLS and ldaps, certificate checked."""
    search = (
        f"ldapsearch -x -LLL -o nettimeout=2 -D '{READER_DN}' -w '{READER_PASSWORD}' -b '{GROUPS_DN}' "
        "'(cn=jupyterhub-admins)' dn"
    )
    script = f"{search} -H ldap://localhost:389 -ZZ && {search} -H ldaps://localhost:636"
    result = container.exec_run(["sh", "-c", script], environment={"LDAPTLS_CACERT": CA_PATH})
    return result.exit_code == 0 and b"dn: cn=jupyterhub-admins" in result.output


def start(
    client: docker.DockerClient, network: str, name: str, hostname: str = "ldap", *, timeout: float = 60.0
) -> LdapPeer:
    """Run the peer detached on `network` (which must exist) as `name`, reachable there as `hostname`.

    A leftover LDAP-peer container named `name` is removed first. Returns once the directory answers
    searches over StartTLS and ldaps; raises RuntimeError (after removing the container) if it does
    not within `timeout` seconds.
    """
    build_image(client)
    container = common.run(
        client,
        IMAGE,
        name,
        kind=_KIND,
        network=network,
        hostname=hostname,
        environment={"LDAP_HOSTNAME": hostname, "LDAP_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    ca_pem = common.wait_for_ca(container, _ready, ca_path=CA_PATH, timeout=timeout)
    return LdapPeer(
        container_name=name,
        hostname=hostname,
        base_dn=BASE_DN,
        admin_dn=ADMIN_DN,
        admin_password=ADMIN_PASSWORD,
        reader_dn=READER_DN,
        reader_password=READER_PASSWORD,
        ca_pem=ca_pem,
        users=dict(USERS),
    )


def stop(client: docker.DockerClient, name: str) -> None:
    """Force-remove the container (and its anonymous volumes) if it is an LDAP peer; nothing happens
    if it is absent. Raises RuntimeError, removing nothing, if `name` is some other container."""
    common.stop(client, name, kind=_KIND)
