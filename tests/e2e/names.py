"""Test-only name resolution, like `curl --resolve`: a domain served by a stack's edge resolves
to the loopback address it is published on, while TLS still sees (SNI, verification) the domain."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def resolve(names: dict[str, str]) -> Iterator[None]:
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return original(names.get(host, host) if isinstance(host, str) else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original
