"""hub/compat: each bridge is needed by the pinned packages, and does what it claims."""

from __future__ import annotations

import inspect

import jupyterhub
from jupyterhub.handlers import BaseHandler
from nativeauthenticator import NativeAuthenticator as UpstreamNativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as UpstreamLoginHandler

from hub.compat.native import LoginHandler, NativeAuthenticator, SilentStatsd


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
