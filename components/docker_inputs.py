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


def go_duration(seconds: int) -> str:
    """`seconds` written as Go's `time.Duration.String()` writes it: "5s", "1m0s", "1h2m3s".

    A container's healthcheck is read back from the engine in that form on every refresh
    (kreuzwerker internal/provider/resource_docker_container_funcs.go, `resourceDockerContainerRead`:
    `Healthcheck.Interval.String()`), and the provider diffs the config against what it read. A
    config of "60s" read back as "1m0s" was a diff on every `up`, which replaced the hub, the
    firewall and the API proxy each time (seen with the real pulumi CLI; docs/explanation/tests.md).
    """
    if seconds < 0:
        raise ValueError(f"a duration of {seconds} s")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
