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

import contextlib
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

IMAGE = "local/peer-ldap:1"
LABEL = "org.jupyterhub-docker.test-peer"
DIGEST_LABEL = "org.jupyterhub-docker.test-peer.digest"  # digest of the files the image is built from
CONTEXT = Path(__file__).resolve().parent
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "entrypoint.sh", "seed.ldif")

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


def _context_digest() -> str:
    digest = hashlib.sha256()
    for name in CONTEXT_FILES:
        digest.update(name.encode() + b"\0" + (CONTEXT / name).read_bytes() + b"\0")
    return digest.hexdigest()


def build_image(client: docker.DockerClient) -> str:
    """Build IMAGE from this directory unless an image built from the same files is present."""
    digest = _context_digest()
    try:
        image = client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pass
    else:
        if (image.labels or {}).get(DIGEST_LABEL) == digest:
            return IMAGE
    client.images.build(
        path=str(CONTEXT),
        tag=IMAGE,
        labels={LABEL: "ldap", DIGEST_LABEL: digest},
        rm=True,
        forcerm=True,
        pull=False,
    )
    return IMAGE


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

    Returns once the directory answers searches over StartTLS and ldaps; raises RuntimeError
    (after removing the container) if it does not within `timeout` seconds.
    """
    build_image(client)
    networking_config = {network: client.api.create_endpoint_config(aliases=[hostname])}
    container = client.containers.run(
        IMAGE,
        name=name,
        hostname=hostname,
        detach=True,
        network=network,
        networking_config=networking_config,
        labels={LABEL: "ldap"},
        environment={"LDAP_HOSTNAME": hostname, "LDAP_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            container.reload()
            if container.status not in ("created", "running"):
                code = container.attrs["State"]["ExitCode"]
                raise RuntimeError(f"LDAP peer {name} stopped ({container.status}, exit code {code})")
            try:
                if _ready(container):
                    break
            except docker.errors.APIError:  # the container stopped meanwhile: the next reload tells
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"LDAP peer {name} not ready after {timeout:.0f} s")
            time.sleep(0.2)
        result = container.exec_run(["cat", CA_PATH])
        if result.exit_code != 0:
            raise RuntimeError(f"cannot read {CA_PATH} from {name}: {result.output!r}")
    except Exception as error:
        logs = container.logs(tail=50).decode(errors="replace")
        stop(client, name)
        raise RuntimeError(f"{error}\n--- last log lines of {name} ---\n{logs}") from error
    return LdapPeer(
        container_name=name,
        hostname=hostname,
        base_dn=BASE_DN,
        admin_dn=ADMIN_DN,
        admin_password=ADMIN_PASSWORD,
        reader_dn=READER_DN,
        reader_password=READER_PASSWORD,
        ca_pem=result.output.decode(),
        users=dict(USERS),
    )


def stop(client: docker.DockerClient, name: str) -> None:
    """Force-remove the container (and its anonymous volumes); nothing happens if it is absent."""
    with contextlib.suppress(docker.errors.NotFound):
        client.containers.get(name).remove(force=True, v=True)
