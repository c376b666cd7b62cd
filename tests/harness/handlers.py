"""Every resource type the harness implements; anything else fails the run."""

from __future__ import annotations

from . import tls
from .engine import (
    Command,
    Container,
    DockerProvider,
    Handler,
    Image,
    Network,
    RandomPassword,
    RemoteImage,
    Volume,
)
from .values import HarnessError

HANDLERS: dict[str, Handler] = {
    h.type: h
    for h in (
        DockerProvider(),
        Network(),
        Volume(),
        Image(),
        RemoteImage(),
        Container(),
        Command(),
        RandomPassword(),
        *tls.HANDLERS,
    )
}


def handler_for(type_: str) -> Handler:
    try:
        return HANDLERS[type_]
    except KeyError:
        raise HarnessError(
            f"resource type {type_} is not implemented by the harness "
            f"(implemented: {', '.join(sorted(HANDLERS))})"
        ) from None
