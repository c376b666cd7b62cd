"""NativeAuthenticator 1.3.0 on JupyterHub 6.

JupyterHub 6.0 removed its statsd client, `BaseHandler.statsd` with it (jupyterhub/jupyterhub#5407,
"remove largely unused statsd metrics"). NativeAuthenticator 1.3.0, its latest release, still
times every login with it: nativeauthenticator/handlers.py `LoginHandler.post` starts with

    auth_timer = self.statsd.timer("login.authenticate").start()
    ...
    auth_timer.stop(send=False)

so on JupyterHub 6 every POST to /hub/login fails with a 500 (AttributeError) before the
password is looked at. `NativeAuthenticator` here is upstream's with that one handler replaced by
a subclass whose `statsd` is a client that records nothing, which is what `stop(send=False)`
did with the timing anyway. Nothing else of upstream's changes.

Remove this module once a NativeAuthenticator release no longer calls `self.statsd`:
tests/unit/test_compat.py reads upstream's handler and fails when the call is gone, to say so.
"""

from __future__ import annotations

from typing import Any

from nativeauthenticator import NativeAuthenticator as UpstreamNativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as UpstreamLoginHandler


class _Timer:
    """The part of a statsd timer NativeAuthenticator uses: start, stop, and no sending."""

    def start(self) -> _Timer:
        return self

    def stop(self, send: bool = True) -> _Timer:
        return self


class SilentStatsd:
    """A statsd client that records nothing (JupyterHub 6 has no metrics sink for it)."""

    def timer(self, stat: str, rate: float = 1) -> _Timer:
        return _Timer()

    def incr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        pass

    def timing(self, stat: str, delta: float, rate: float = 1) -> None:
        pass


class LoginHandler(UpstreamLoginHandler):  # type: ignore[misc]  # nativeauthenticator is untyped
    @property
    def statsd(self) -> SilentStatsd:
        return SilentStatsd()


class NativeAuthenticator(UpstreamNativeAuthenticator):  # type: ignore[misc]
    """Upstream's authenticator; its handlers, with the login handler that runs on JupyterHub 6.
    Configured as `c.NativeAuthenticator`: traitlets applies a class's section to its subclasses."""

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        handlers: list[tuple[str, type]] = super().get_handlers(app)
        return [(url, LoginHandler if h is UpstreamLoginHandler else h) for url, h in handlers]
