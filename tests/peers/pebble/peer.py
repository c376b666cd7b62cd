"""Pebble (Let's Encrypt's RFC 8555 test ACME CA) in a container, for tests of ACME HTTP-01 issuance.

The image (Dockerfile, entrypoint.sh and pebble-config.json beside this file) is built from
``local/debian:bookworm`` with Debian's pebble 2.4. Debian's package ships no TLS certificate for
Pebble's own HTTPS listeners, so each container makes, on its first start, a throwaway "directory CA"
and a certificate for its network alias (plus ``localhost`` and ``127.0.0.1``) signed by it; a client
must trust that CA (:attr:`PebblePeer.directory_ca_pem`) to talk to the ACME directory.

Pebble serves ACME on ``https://<alias>:14000/dir`` and its management API on
``https://<alias>:15000``. It validates challenges for real (no ``PEBBLE_VA_ALWAYS_VALID``): HTTP-01 on
port 80 and TLS-ALPN-01 on port 443 of the name being validated, resolved by Docker's embedded DNS, so
the ACME client must be reachable under that name on the same network (e.g. as a network alias).
Switches set in the image: ``PEBBLE_VA_NOSLEEP=1`` (no random sleep before validation),
``PEBBLE_WFE_NONCEREJECT=0`` (no spurious badNonce), ``PEBBLE_AUTHZREUSE=100`` (a valid authorization
of the same account is always reused), ``PEBBLE_CHAIN_LENGTH=1`` (leaf <- one intermediate <- root) and
``PEBBLE_ALTERNATE_ROOTS=0``.

Pebble makes a new issuance root and intermediate at every launch (also when the container is
restarted) and keeps nothing on disk: :func:`issuance_roots` fetches the current root(s). Usage::

    build_image(client)
    peer = start(client, network="my-net", name="my-pebble", hostname="pebble")
    try:
        ...  # an ACME client on my-net uses peer.directory_url, trusting peer.directory_ca_pem
        roots = issuance_roots(client, peer)  # what the issued chains lead to
    finally:
        stop(client, peer.container_name)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

from tests.peers import common

IMAGE = "local/peer-pebble:1"
LABEL = common.LABEL
LABEL_VALUE = "pebble"
DIGEST_LABEL = common.DIGEST_LABEL  # digest of the files the image is built from
CONTEXT = Path(__file__).resolve().parent
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "entrypoint.sh", "pebble-config.json")
BUILD_TIMEOUT = 600

ACME_PORT = 14000
MANAGEMENT_PORT = 15000
DIRECTORY_CA_PATH = "/certs/directory-ca.pem"  # inside the container
MAX_ROOTS = 8  # issuance_roots() asks for /roots/0 .. /roots/7 at most

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----\r?\n?", re.DOTALL)


class PeerError(common.PeerError):
    """The peer's image could not be built, its container did not come up, or it answered wrongly."""


@dataclass(frozen=True)
class PebblePeer:
    container_name: str
    hostname: str  # network alias
    directory_url: str  # https://<hostname>:14000/dir
    directory_ca_pem: str  # what a client must trust to talk to the directory (HTTPS)

    @property
    def management_url(self) -> str:
        """Base URL of Pebble's management API (same TLS certificate as the directory)."""
        return f"https://{self.hostname}:{MANAGEMENT_PORT}"


def build_image(client: docker.DockerClient) -> str:
    """Build IMAGE from this directory unless an image built from the same files is present."""
    return common.build_image(
        client,
        IMAGE,
        CONTEXT,
        kind=LABEL_VALUE,
        digest=common.context_digest(CONTEXT, CONTEXT_FILES),
        digest_label=DIGEST_LABEL,
        timeout=BUILD_TIMEOUT,
        error=PeerError,
    )


def _fetch(container: Container, url: str) -> tuple[int, str]:
    """GET `url` with curl inside the pebble container, trusting the directory CA.

    Returns (curl's exit code, body). Exit code 22 means an HTTP status >= 400 (--fail).
    """
    command = ["curl", "-sS", "--fail", "--max-time", "5", "--cacert", DIRECTORY_CA_PATH, url]
    exit_code, output = container.exec_run(command, stdout=True, stderr=False)
    body = output.decode(errors="replace") if isinstance(output, bytes) else ""
    return exit_code, body


def _ready(container: Container, hostname: str) -> bool:
    """True once the directory and the management API answer under the alias, certificate checked.

    The name is resolved the way other containers on the network resolve it (Docker's DNS).
    """
    code, body = _fetch(container, f"https://{hostname}:{ACME_PORT}/dir")
    if code != 0 or '"newNonce"' not in body:
        return False
    code, body = _fetch(container, f"https://{hostname}:{MANAGEMENT_PORT}/roots/0")
    return code == 0 and _PEM.search(body) is not None


def start(
    client: docker.DockerClient, network: str, name: str, hostname: str = "pebble", *, timeout: float = 60.0
) -> PebblePeer:
    """Run the peer detached on `network` (which must exist) as `name`, reachable there as `hostname`.

    A leftover pebble-peer container named `name` is removed first. Returns once the ACME directory
    and the management API answer over HTTPS under `hostname`; raises PeerError (after removing the
    container) if they do not within `timeout` seconds.
    """
    build_image(client)
    container = common.run(
        client,
        IMAGE,
        name,
        kind=LABEL_VALUE,
        network=network,
        hostname=hostname,
        environment={"PEBBLE_HOSTNAME": hostname},
        error=PeerError,
    )
    ca_pem = common.wait_for_ca(
        container,
        lambda container: _ready(container, hostname),
        ca_path=DIRECTORY_CA_PATH,
        timeout=timeout,
        error=PeerError,
    )
    return PebblePeer(
        container_name=name,
        hostname=hostname,
        directory_url=f"https://{hostname}:{ACME_PORT}/dir",
        directory_ca_pem=ca_pem,
    )


def issuance_roots(client: docker.DockerClient, peer: PebblePeer) -> list[str]:
    """The PEM(s) of the root(s) Pebble signs with now: /roots/0 (and /roots/1... with alternate roots).

    Fetched from the management API inside the pebble container. Pebble makes new roots at every
    launch, so call this after the last (re)start of the peer.
    """
    container = client.containers.get(peer.container_name)
    roots: list[str] = []
    for index in range(MAX_ROOTS):
        code, body = _fetch(container, f"{peer.management_url}/roots/{index}")
        if code == 22 and index > 0:  # HTTP 404: no such alternate root
            break
        if code != 0:
            url = f"{peer.management_url}/roots/{index}"
            raise PeerError(f"GET {url} failed in {peer.container_name}: curl exit code {code}")
        pems = _PEM.findall(body)
        if not pems:
            raise PeerError(f"{peer.management_url}/roots/{index} answered no certificate: {body[:200]!r}")
        roots.append(pems[0])
    return roots


def stop(client: docker.DockerClient, name: str) -> None:
    """Force-remove the peer's container (only if labelled as this peer); nothing happens if absent."""
    common.stop(client, name, kind=LABEL_VALUE, error=PeerError)
