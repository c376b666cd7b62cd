"""Every resource type the harness implements; anything else fails the run."""

from __future__ import annotations

from . import command, docker_provider, random_provider, tls
from .resource import Handler
from .values import HarnessError

HANDLERS: dict[str, Handler] = {
    h.type: h
    for h in (*docker_provider.HANDLERS, *command.HANDLERS, *random_provider.HANDLERS, *tls.HANDLERS)
}
_PROVIDER = docker_provider.DockerProvider()


def handler_for(type_: str) -> Handler:
    try:
        return HANDLERS[type_]
    except KeyError:
        raise HarnessError(
            f"resource type {type_} is not implemented by the harness "
            f"(implemented: {', '.join(sorted(HANDLERS))})"
        ) from None


def provider_handler() -> docker_provider.DockerProvider:
    return _PROVIDER
