"""HTTPS at the edge: self-signed and manual certificates, websockets, redirects, stability."""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

import docker
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory, tls_stack
from tests.e2e.hubclient import HubUser
from tests.e2e.names import resolve


def served_chain(port: int, domain: str) -> list[x509.Certificate]:
    """The certificates the edge sends, in order (what a browser receives)."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", domain, "-showcerts"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", result.stdout, re.DOTALL)
    return [x509.load_pem_x509_certificate(block.encode()) for block in blocks]


def https_port(stack: Deployment) -> int:
    return int(stack.url.rstrip("/").rsplit(":", 1)[1])


def test_https_verifies_against_the_stacks_ca_output_and_not_without_it(
    self_signed: tuple[Deployment, Path], engine: docker.DockerClient
) -> None:
    stack, ca_file = self_signed
    assert stack.url.startswith("https://hub.test:")
    with resolve({"hub.test": "127.0.0.1"}):
        health = requests.get(stack.url + "hub/health", verify=str(ca_file), timeout=30)
        assert health.status_code == 200
        assert health.headers["Strict-Transport-Security"].startswith("max-age=")
        with pytest.raises(requests.exceptions.SSLError):
            plain = requests.Session()
            plain.trust_env = False
            plain.get(stack.url + "hub/health", timeout=30)
    # With TLS on, the edge is the only published container.
    assert engine.containers.get(f"{stack.prefix}-proxy").attrs["HostConfig"]["PortBindings"] in (None, {})
    edge_ports = engine.containers.get(f"{stack.prefix}-edge").attrs["HostConfig"]["PortBindings"]
    assert set(edge_ports) == {"80/tcp", "443/tcp"}


def test_plain_http_redirects_to_https(
    self_signed: tuple[Deployment, Path], engine: docker.DockerClient
) -> None:
    stack, _ = self_signed
    bindings = engine.containers.get(f"{stack.prefix}-edge").attrs["HostConfig"]["PortBindings"]
    http_port = bindings["80/tcp"][0]["HostPort"]
    with resolve({"hub.test": "127.0.0.1"}):
        response = requests.get(
            f"http://hub.test:{http_port}/hub/login?next=x", allow_redirects=False, timeout=30
        )
    assert response.status_code == 308
    assert response.headers["Location"] == f"{stack.url}hub/login?next=x"


def test_a_kernel_computes_over_the_websocket_through_the_edge(self_signed: tuple[Deployment, Path]) -> None:
    stack, ca_file = self_signed
    with resolve({"hub.test": "127.0.0.1"}):
        ada = HubUser(stack.url, "ada").trusting(ca_file)
        ada.login(USER_PASSWORD)
        assert ada.logged_in()
        ada.start_server()
        assert ada.run_code("1 + 1") == "2"


def test_the_edge_sets_security_headers_and_every_cookie_is_secure(
    self_signed: tuple[Deployment, Path],
) -> None:
    """The hub and the user's server know they are served over HTTPS (X-Forwarded-Proto from the
    edge), so every cookie they set is Secure; the edge adds the usual headers and leaves the
    Content-Security-Policy (frame-ancestors) of JupyterHub and jupyter-server alone."""
    stack, ca_file = self_signed
    with resolve({"hub.test": "127.0.0.1"}):
        eve = HubUser(stack.url, "eve").trusting(ca_file)
        seen: list[requests.Response] = []
        eve.session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
        eve.login(USER_PASSWORD)
        assert eve.logged_in()
        eve.start_server()
        lab = eve.server_get("lab")
    assert lab.status_code == 200
    set_cookies = [
        (response.url, header) for response in seen for header in response.raw.headers.getlist("Set-Cookie")
    ]
    names = {header.split("=", 1)[0] for _, header in set_cookies}
    # The hub's login and xsrf cookies and the server's own, set over the OAuth handshake.
    assert {"jupyterhub-session-id", "jupyterhub-hub-login", "_xsrf", "jupyterhub-user-eve"} <= names, names
    # Deletions aside (an empty value that expired: the server clears its OAuth state cookie
    # without the flag; it carries nothing, and over HTTPS it may replace a Secure cookie).
    insecure = [
        (url, header)
        for url, header in set_cookies
        if "; secure" not in header.lower() and not re.match(r'[^=]+=(""|);', header)
    ]
    assert insecure == [], insecure
    for response in seen:
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", response.url
        assert headers["Referrer-Policy"] == "same-origin", response.url
        assert headers["Strict-Transport-Security"] == "max-age=31536000", response.url
        assert headers["X-Frame-Options"] == "SAMEORIGIN", response.url
    # The hub's and the server's own frame policy (no framing at all, by default) arrive as
    # they sent it; browsers follow it over X-Frame-Options.
    hub_page = next(r for r in seen if "/hub/login" in r.url)
    assert hub_page.headers["Content-Security-Policy"].startswith("frame-ancestors 'none'")
    assert lab.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_a_second_up_serves_the_same_certificate(self_signed: tuple[Deployment, Path]) -> None:
    stack, ca_file = self_signed
    before = served_chain(https_port(stack), "hub.test")
    outputs = stack.up()
    assert outputs["caCertificate"] == ca_file.read_text(), "no new CA"
    after = served_chain(https_port(stack), "hub.test")
    assert [c.fingerprint(hashes.SHA256()) for c in after] == [c.fingerprint(hashes.SHA256()) for c in before]
    leaf = after[0]
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["hub.test", "localhost"]


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    if "." in subject:  # a server certificate
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def test_a_manual_certificate_chain_is_served_as_given(make_stack: StackFactory, tmp_path: Path) -> None:
    # A root, an intermediate and a leaf, as a company CA would issue them.
    root_key, intermediate_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _issue("Test Root", root_key, None, root_key)
    intermediate = _issue("Test Intermediate", intermediate_key, root, root_key)
    leaf = _issue("manual.test", leaf_key, intermediate, intermediate_key)
    pem = serialization.Encoding.PEM
    chain = (leaf.public_bytes(pem) + intermediate.public_bytes(pem)).decode()
    key = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    stack = tls_stack(
        make_stack,
        {"mode": "manual", "domain": "manual.test"},
        secrets={"tls.certificate": chain, "tls.key": key},
    )
    served = served_chain(https_port(stack), "manual.test")
    assert [c.fingerprint(hashes.SHA256()) for c in served] == [
        leaf.fingerprint(hashes.SHA256()),
        intermediate.fingerprint(hashes.SHA256()),
    ]
    root_file = tmp_path / "root.pem"
    root_file.write_bytes(root.public_bytes(pem))
    with resolve({"manual.test": "127.0.0.1"}):
        assert requests.get(stack.url + "hub/health", verify=str(root_file), timeout=30).status_code == 200
