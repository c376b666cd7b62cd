"""Small converters from plain Python values to pulumi-docker input shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import pulumi

LabelArgs = TypeVar("LabelArgs")

# Seconds a container gets to stop on SIGTERM when it is deleted or replaced. pulumi-docker's
# default is none: without `destroy_grace_seconds` the container is killed at once
# (kreuzwerker internal/provider/resource_docker_container_funcs.go, `resourceDockerContainerDelete`).
STOP_GRACE_SECONDS = 10


def label_inputs(make: Callable[..., LabelArgs], labels: Mapping[str, str]) -> list[LabelArgs]:
    """pulumi-docker takes labels as a list of {label, value} (one args class per resource
    type, passed as `make`); sorted so that the registered order is stable."""
    return [make(label=key, value=value) for key, value in sorted(labels.items())]


def as_secret(value: pulumi.Output[str]) -> pulumi.Output[str]:
    """`Output.secret`, typed: mypy cannot solve its `Input[U]` parameter for an Output[str]."""
    return pulumi.Output.secret(value)
