"""Let's Encrypt's protocol against a real ACME CA (Pebble) on the stack network."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import PolicyBuilder, Store

from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory, connect_when_created, free_port
from tests.e2e.names import resolve
from tests.e2e.polling import eventually
from tests.e2e.test_tls import served_chain
from tests.peers.common import create_network
from tests.peers.pebble import peer as pebble

DOMAIN = "hub.test"


@dataclass
class AcmeStack:
    stack: Deployment
    peer: pebble.PebblePeer
    edge: str
    https_port: int
    http_port: int


@pytest.fixture(scope="module")
def acme_stack(
    engine: docker.DockerClient, make_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AcmeStack]:
    pebble.build_image(engine)
    network = create_network(engine, f"peer-pebble-{secrets.token_hex(3)}", kind="pebble")
    name = f"peer-pebble-{secrets.token_hex(3)}"
    try:
        peer = pebble.start(engine, network.name, name, hostname="pebble")
        root_file = tmp_path_factory.mktemp("acme") / "pebble-directory-ca.pem"
        root_file.write_text(peer.directory_ca_pem)
        stack_name = f"acme{secrets.token_hex(2)}"
        # The CA must reach the edge by the domain (an alias on the stack network) on port 80.
        watcher = connect_when_created(engine, f"jhub-{stack_name}-net", name, peer.hostname)
        http_port, https_port = free_port(), free_port()
        stack = make_stack(
            {"type": "shared-password", "allowAll": True},
            secret_config={"auth.password": USER_PASSWORD},
            extra={
                "tls": {
                    "mode": "letsencrypt",
                    "domain": DOMAIN,
                    "email": "ops@hub.test",
                    "acmeDirectory": peer.directory_url,
                    "acmeCaRootFile": str(root_file),
                },
                "publish": {"address": "127.0.0.1", "port": http_port, "httpsPort": https_port},
            },
            name=stack_name,
        )
        watcher.join(timeout=5)
        yield AcmeStack(stack, peer, f"jhub-{stack_name}-edge", https_port, http_port)
    finally:
        pebble.stop(engine, name)
        network.remove()


def test_the_edge_obtains_a_certificate_that_chains_to_the_acme_cas_root(
    acme_stack: AcmeStack, engine: docker.DockerClient
) -> None:
    chain = served_chain(acme_stack.https_port, DOMAIN)
    roots = [
        x509.load_pem_x509_certificate(pem.encode()) for pem in pebble.issuance_roots(engine, acme_stack.peer)
    ]
    verifier = PolicyBuilder().store(Store(roots)).build_server_verifier(x509.DNSName(DOMAIN))
    verified = verifier.verify(chain[0], chain[1:])
    assert verified[-1] in roots, "the served chain leads to Pebble's root"
    logs = engine.containers.get(acme_stack.edge).logs().decode()
    assert '"challenge_type":"http-01"' in logs, "validated over HTTP-01"

    with resolve({DOMAIN: "127.0.0.1"}):
        redirect = requests.get(
            f"http://{DOMAIN}:{acme_stack.http_port}/hub/", allow_redirects=False, timeout=30
        )
    assert redirect.status_code == 308
    assert redirect.headers["Location"] == f"https://{DOMAIN}:{acme_stack.https_port}/hub/"


def test_a_recreated_edge_serves_the_same_certificate_without_a_new_order(
    acme_stack: AcmeStack, engine: docker.DockerClient
) -> None:
    def leaf_fingerprint() -> bytes | None:
        chain = served_chain(acme_stack.https_port, DOMAIN)
        return chain[0].fingerprint(hashes.SHA256()) if chain else None

    before = leaf_fingerprint()
    assert before is not None
    engine.containers.get(acme_stack.edge).restart(timeout=10)
    # Caddy listens again only some time after the restart returns.
    assert eventually(leaf_fingerprint, timeout=60, what="the restarted edge serving TLS") == before

    # A new container (what a replacement does) finds the certificate on the edge's volume.
    engine.containers.get(acme_stack.edge).remove(force=True)
    acme_stack.stack.up()
    assert eventually(leaf_fingerprint, timeout=60, what="the re-created edge serving TLS") == before
    logs = engine.containers.get(acme_stack.edge).logs().decode()
    assert "obtaining certificate" not in logs and "trying to solve challenge" not in logs
