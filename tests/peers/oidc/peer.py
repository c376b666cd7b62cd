"""Test peer: a real OpenID Connect provider (npm oidc-provider 8.x) in a container, serving HTTPS.

For GenericOAuthenticator tests that drive the whole authorization-code flow with a plain HTTP client
(no browser, no JavaScript). See server.mjs for the provider side; in short:

- ``GET /interaction/<uid>`` renders a login form (HTTP 200) with the fields ``login`` (an account's
  ``sub`` or ``preferred_username``) and ``password``, posted to ``/interaction/<uid>/login``.
- A wrong password answers 401 with the same form and an error; the right one answers 303 and the
  redirects lead back to the client's ``redirect_uri`` with ``code`` and ``state``.
- Consent is granted automatically for every configured client: there is no consent form.
- Clients authenticate at the token endpoint with client_secret_basic or client_secret_post (either
  works for every client). PKCE (S256) is checked when the client sends a code_challenge and is not
  required otherwise (oauthenticator 17.4.0 sends one by default: ``enable_pkce = True``).
- Scopes ``openid profile email groups``; ``preferred_username``, ``name``, ``email`` and ``groups``
  are in the userinfo response and in the ID token.

The issuer URL is the same inside the Docker network (network alias ``hostname``) and on the host
(the container port is published on 127.0.0.1 under the same number); on the host, wrap the requests in
``resolve(hostname)`` so that ``hostname`` reaches 127.0.0.1 while TLS still checks ``hostname``.
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import docker
import requests
import urllib3.util.connection
from docker.models.containers import Container

from tests.peers import common

IMAGE = "local/peer-oidc:1"
LABEL = common.LABEL
LABEL_VALUE = "oidc"
# The image is rebuilt when any of these files change (their hash is kept as an image label).
SOURCE_LABEL = "org.jupyterhub-docker.test-peer.source"
CONTEXT = Path(__file__).resolve().parent
SOURCES = ("Dockerfile", "package.json", "package-lock.json", "server.mjs")
CA_PATH = "/certs/ca.pem"
START_TIMEOUT = 60.0
BUILD_TIMEOUT = 600

_FORM = re.compile(r"<form\b[^>]*\baction=\"([^\"]*/login)\"", re.IGNORECASE)


class PeerError(common.PeerError):
    """The peer's image could not be built or its container did not come up."""


@dataclass(frozen=True)
class OidcPeer:
    container_name: str
    issuer: str  # e.g. https://oidc.test:8443, the same inside the Docker network and on the host
    hostname: str
    port: int
    ca_pem: str  # the throwaway CA that signed the server certificate

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def source_hash() -> str:
    return common.context_digest(CONTEXT, SOURCES)[:16]


def build_image(client: docker.DockerClient, extra_ca_pem: str | None) -> str:
    """Builds IMAGE unless an image built from the same sources is there already; returns IMAGE.

    ``extra_ca_pem`` (PEM text) is trusted by npm during the build only, for sites behind a
    TLS-intercepting proxy.
    """
    buildargs = {"EXTRA_CA_CERTS": extra_ca_pem.strip()} if extra_ca_pem and extra_ca_pem.strip() else {}
    return common.build_image(
        client,
        IMAGE,
        CONTEXT,
        kind=LABEL_VALUE,
        digest=source_hash(),
        digest_label=SOURCE_LABEL,
        buildargs=buildargs,
        timeout=BUILD_TIMEOUT,
        error=PeerError,
    )


def start(
    client: docker.DockerClient,
    network: str,
    name: str,
    *,
    hostname: str,
    port: int,
    clients: list[dict[str, object]],
    accounts: list[dict[str, object]],
) -> OidcPeer:
    """Runs the provider on ``network`` (alias ``hostname``), published on 127.0.0.1:``port``.

    ``clients``: ``{client_id, client_secret, redirect_uris: [...]}`` (other keys are passed on as client
    metadata); ``accounts``: ``{sub, password, claims: {preferred_username, email, name, groups}}``.
    Waits (at most 60 s) until discovery answers over the published port, checked with the peer's CA;
    raises PeerError (after removing the container) if it does not.
    A leftover container of this peer with the same name is removed first.
    """
    issuer = f"https://{hostname}:{port}"
    environment = {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENTS": json.dumps(clients),
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    container = common.run(
        client,
        IMAGE,
        name,
        kind=LABEL_VALUE,
        network=network,
        hostname=hostname,
        environment=environment,
        publish=port,
        error=PeerError,
    )
    ca_pem = common.wait_for_ca(
        container,
        lambda container: _ready(container, issuer, hostname),
        ca_path=CA_PATH,
        timeout=START_TIMEOUT,
        retry_on=(common.PeerError, requests.RequestException, ValueError),
        error=PeerError,
    )
    return OidcPeer(name, issuer, hostname, port, ca_pem)


def stop(client: docker.DockerClient, name: str) -> None:
    """Removes the peer's container (only if it is labelled as this peer); no error if it is gone."""
    common.stop(client, name, kind=LABEL_VALUE, error=PeerError)


def _ready(container: Container, issuer: str, hostname: str) -> bool:
    """True once discovery answers over the published port, checked with the CA the server wrote;
    raises (common.PeerError, requests.RequestException or ValueError) while it does not."""
    _check_discovery(issuer, hostname, common.read_file(container, CA_PATH, expect=common.PEM_END))
    return True


def _check_discovery(issuer: str, hostname: str, ca_pem: str) -> None:
    with _ca_file(ca_pem) as ca_file, resolve(hostname), requests.Session() as session:
        session.trust_env = False
        response = session.get(f"{issuer}/.well-known/openid-configuration", verify=ca_file, timeout=5)
        response.raise_for_status()
        if response.json().get("issuer") != issuer:
            raise ValueError(f"discovery names issuer {response.json().get('issuer')!r}, not {issuer!r}")


@contextmanager
def _ca_file(ca_pem: str) -> Iterator[str]:
    fd, path = tempfile.mkstemp(prefix="peer-oidc-ca-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(ca_pem)
        yield path
    finally:
        os.unlink(path)


@contextmanager
def resolve(hostname: str, address: str = "127.0.0.1") -> Iterator[None]:
    """Test-only DNS override for this process, like ``curl --resolve``.

    While active, connections that requests/urllib3 (2.x) open to ``hostname`` go to ``address``; the URL,
    the Host header, TLS SNI and certificate verification still use ``hostname``. urllib3's
    HTTPConnection calls ``urllib3.util.connection.create_connection`` through the module attribute at
    connect time, so that attribute is wrapped here and put back on exit. Connections through a proxy
    (HTTPS_PROXY) go to the proxy instead and are not affected: use ``session.trust_env = False``.
    """
    original = urllib3.util.connection.create_connection
    wanted = hostname.lower().rstrip(".")

    def create_connection(target: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, port = target
        if host.lower().rstrip(".") == wanted:
            target = (address, port)
        return original(target, *args, **kwargs)

    setattr(urllib3.util.connection, "create_connection", create_connection)  # noqa: B010
    try:
        yield
    finally:
        setattr(urllib3.util.connection, "create_connection", original)  # noqa: B010


def login(
    session: requests.Session,
    authorize_response: requests.Response,
    username: str,
    password: str,
    ca_file: str,
    *,
    stop_at: str | None = None,
    max_redirects: int = 20,
) -> requests.Response:
    """Fills in and posts the provider's login form, then follows the redirects.

    ``authorize_response`` is the rendered login form, as a client gets it after following the redirects
    to the authorization URL. Every request uses ``verify=ca_file``. Returns the last response: with the
    right password, the end of the redirect chain back through the relying party's callback (its
    ``history`` holds the hops); with a wrong one, the 401 form page. If ``stop_at`` is given, a redirect
    whose target starts with it is not followed: that redirect response is returned instead (useful when
    nothing listens at the redirect_uri). There is no consent form to post: consent is auto-granted.
    """
    match = _FORM.search(authorize_response.text)
    if match is None:
        raise ValueError(f"no provider login form in the response from {authorize_response.url}")
    action = urljoin(authorize_response.url, html.unescape(match.group(1)))
    response = session.post(
        action,
        data={"login": username, "password": password},
        verify=ca_file,
        allow_redirects=False,
        timeout=30,
    )
    history: list[requests.Response] = []
    method, data = "POST", {"login": username, "password": password}
    while response.is_redirect:
        target = urljoin(response.url, response.headers["Location"])
        if stop_at is not None and target.startswith(stop_at):
            break
        if len(history) >= max_redirects:
            raise requests.TooManyRedirects(f"more than {max_redirects} redirects after the login form")
        if response.status_code not in (307, 308):
            method, data = "GET", {}
        history.append(response)
        response = session.request(
            method, target, data=data or None, verify=ca_file, allow_redirects=False, timeout=30
        )
    response.history = history
    return response
