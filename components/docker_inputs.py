"""Small converters from plain Python values to pulumi-docker input shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def label_inputs(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """pulumi-docker takes labels as a list of {label, value}; sorted so the order is stable."""
    return [{"label": key, "value": value} for key, value in sorted(labels.items())]


def socket_path(docker_host: str) -> str:
    """The engine's socket path on the Docker host, mounted into the hub for DockerSpawner."""
    return docker_host.removeprefix("unix://")
