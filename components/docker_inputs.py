"""Small converters from plain Python values to pulumi-docker input shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import pulumi

LabelArgs = TypeVar("LabelArgs")


def label_inputs(make: Callable[..., LabelArgs], labels: Mapping[str, str]) -> list[LabelArgs]:
    """pulumi-docker takes labels as a list of {label, value} (one args class per resource
    type, passed as `make`); sorted so that the registered order is stable."""
    return [make(label=key, value=value) for key, value in sorted(labels.items())]


def as_secret(value: pulumi.Output[str]) -> pulumi.Output[str]:
    """`Output.secret`, typed: mypy cannot solve its `Input[U]` parameter for an Output[str]."""
    return pulumi.Output.secret(value)
