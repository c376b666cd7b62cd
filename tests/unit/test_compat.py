"""hub/compat: each bridge is needed by the pinned packages, and does what it claims."""

from __future__ import annotations

import asyncio
import http.server
import inspect
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import jupyterhub
import pytest
from aiohttp.resolver import AsyncResolver, DefaultResolver
from jupyterhub.handlers import BaseHandler
from jupyterhub.httpclient import JupyterHubHTTPClient
from nativeauthenticator import NativeAuthenticator as UpstreamNativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as UpstreamLoginHandler
from traitlets.config import Config

from hub.compat.native import LoginHandler, NativeAuthenticator, SilentStatsd
from hub.compat.resolver import SystemResolver, connector_options


def test_jupyterhub6_native_bridge_is_still_needed_by_the_pinned_packages() -> None:
    # When either of these fails, upstream has moved: the bridge can go (its docstring says how).
    assert int(jupyterhub.__version__.split(".")[0]) >= 6
    assert not hasattr(BaseHandler, "statsd"), "JupyterHub has a statsd client again"
    assert "self.statsd.timer(" in inspect.getsource(UpstreamLoginHandler.post), (
        "NativeAuthenticator's login no longer calls statsd: remove hub/compat/native.py"
    )


def test_jupyterhub6_native_bridge_replaces_only_the_login_handler() -> None:
    # Without __init__, which opens the hub's database; get_handlers reads nothing of the instance.
    ours = dict(NativeAuthenticator.__new__(NativeAuthenticator).get_handlers(app=None))
    upstream = dict(UpstreamNativeAuthenticator.__new__(UpstreamNativeAuthenticator).get_handlers(app=None))
    assert ours.keys() == upstream.keys()
    assert ours["/login"] is LoginHandler and issubclass(LoginHandler, UpstreamLoginHandler)
    assert {url: h for url, h in ours.items() if url != "/login"} == {
        url: h for url, h in upstream.items() if url != "/login"
    }


def test_jupyterhub6_native_bridge_statsd_takes_upstreams_calls() -> None:
    # The calls upstream's handlers made on JupyterHub 5's client, on what `self.statsd` gives.
    assert isinstance(inspect.getattr_static(LoginHandler, "statsd"), property)
    statsd = SilentStatsd()
    statsd.timer("login.authenticate").start().stop(send=False)
    statsd.incr("login.success")
    statsd.timing("login.authenticate.success", 1.0)


def test_jupyterhub6_hub_client_would_resolve_with_c_ares_without_the_bridge() -> None:
    # aiohttp picks c-ares when aiodns is installed; JupyterHub 6 requires aiodns. When this
    # fails, the default no longer caches for a record's TTL: hub/compat/resolver.py can go.
    assert DefaultResolver is AsyncResolver


@pytest.fixture
def local_server() -> Iterator[int]:
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_jupyterhub6_hub_client_asks_getaddrinfo_on_every_loop(local_server: int) -> None:
    # The options as the hub's configuration sets them, on JupyterHub's own client: made on one
    # event loop (the hub's configuration is loaded on it), used on two.
    options = connector_options()
    config = Config()
    config.JupyterHubHTTPClient.connector_options = options

    async def fetch_by_name() -> tuple[int, Any]:
        client = JupyterHubHTTPClient(config=config)
        connector = client._new_connector()
        try:
            async with (
                aiohttp.ClientSession(connector=connector) as session,
                session.get(f"http://localhost:{local_server}/") as response,
            ):
                return response.status, connector
        finally:
            await connector.close()

    for _ in range(2):
        status, connector = asyncio.run(fetch_by_name())
        assert status == 204
        assert isinstance(connector._resolver, SystemResolver) and not connector.use_dns_cache
