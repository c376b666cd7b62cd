"""`network`: how users' servers are isolated on the Docker host (docs/explanation/security-model.md).

With `isolation` (the default), servers sit on their own network behind the stack's firewall
(components/firewall.py, firewall/rules.py); the lists adjust what they may reach beyond it.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator

from config.base import ConfigModel


def _cidrs(values: list[str]) -> list[str]:
    checked = []
    for value in values:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as error:
            raise ValueError(
                f"{value!r} is not an IPv4 network in CIDR form such as 10.20.0.0/16 ({error})"
            ) from None
        if network.version != 4:
            raise ValueError(f"{value!r}: only IPv4 ranges are filtered (users' networks have no IPv6)")
        checked.append(str(network))
    return checked


class NetworkConfig(ConfigModel):
    # Servers reach the hub's API and the internet, not one another, the proxy's API, the
    # Docker host or private and link-local addresses.
    isolation: bool = True
    """Users' servers on their own network behind the stack's firewall: they reach the hub's API and the
    internet, not each other, the proxy's API, the Docker host or private addresses; see [Security
    model](../explanation/security-model.md)."""
    # Private ranges users may still reach (a package mirror, a database), CIDR.
    egress_allow: list[str] = Field(default_factory=list, max_length=100)
    """IPv4 ranges (CIDR, e.g. `10.20.0.0/16` for a package mirror) users' servers may reach although
    private."""
    # Public ranges users must not reach either, CIDR.
    egress_deny: list[str] = Field(default_factory=list, max_length=100)
    """Further IPv4 ranges (CIDR) users' servers must not reach."""

    @field_validator("egress_allow", "egress_deny")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return _cidrs(value)

    @model_validator(mode="after")
    def _lists_need_isolation(self) -> NetworkConfig:
        if not self.isolation and (self.egress_allow or self.egress_deny):
            raise ValueError(
                "network.egressAllow and network.egressDeny only apply with network.isolation: true; "
                "remove them or turn isolation on"
            )
        return self
