"""How to reach the stack's Docker host, as the plan derives it from the config: the
DockerHost component (components/host.py) takes it as its args."""

from __future__ import annotations

from dataclasses import dataclass

from plan.naming import StackNames


@dataclass(frozen=True)
class PublishedPort:
    key: str  # the config key that sets it, for the error message
    address: str
    port: int


@dataclass(frozen=True)
class ClientTls:
    """Client TLS for a tcp:// engine, as PEM (the key is a secret)."""

    ca: str
    cert: str
    key: str


@dataclass(frozen=True)
class DockerHostArgs:
    """How to reach the stack's engine, derived by the plan step from the config."""

    docker_host: str
    names: StackNames
    # The engine's socket path on the host, mounted into the hub for DockerSpawner.
    socket_path: str
    # Environment of the docker CLI calls on this host, and of the connection check.
    command_env: dict[str, str]
    check_env: dict[str, str]
    ssh_opts: tuple[str, ...] | None
    tls: ClientTls | None
    # The probe image, pulled before the port check (the proxy's: every stack has it, with /bin/sh).
    probe_image: str
    ports: tuple[PublishedPort, ...]
