"""What `orchestrator: swarm` asks of the rest of the stack config (docs/how-to/swarm.md).

Each check names the setting and the fix. They are the limits of this first Swarm support, each
for a reason a user would otherwise find out on a class day:
- the network isolation firewall programs one engine's iptables, and an overlay network has no
  inter-container switch to turn off: servers on other nodes would not be isolated;
- a stack-owned shared folder is a `local` volume, which would be a different, empty folder on
  every node; a host directory differs per node too;
- a service spec (API 1.41) cannot request GPUs;
- an image the stack builds exists only on the manager: other nodes pull it from the stack's
  registry, which must then be published on an address they reach.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.stack import StackConfig


def _is_concrete_non_loopback(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return True  # a host name: the nodes resolve it
    return not (parsed.is_loopback or parsed.is_unspecified)


def swarm_problems(config: StackConfig) -> list[str]:
    problems: list[str] = []
    if config.orchestrator != "swarm":
        for index, profile in enumerate(config.profiles):
            if profile.placement:
                problems.append(
                    f"profiles[{index}].placement: only applies with orchestrator: swarm "
                    "(remove it, or set orchestrator: swarm)"
                )
        return problems
    if config.network.isolation:
        problems.append(
            "network.isolation: not available with orchestrator: swarm yet (the firewall covers one "
            "engine, and overlay networks cannot drop server-to-server traffic); set "
            "network.isolation: false, and read docs/how-to/swarm.md on what that leaves open"
        )
    if config.shared:
        problems.append(
            "shared: shared folders are not available with orchestrator: swarm yet (a stack volume "
            "or host directory would be a different folder on every node); remove the shared entries"
        )
    for index, profile in enumerate(config.profiles):
        if profile.gpus is not None:
            problems.append(
                f"profiles[{index}].gpus: a Swarm service cannot request GPUs (Docker API 1.41); "
                "remove gpus from the profile (placement can still select nodes by label)"
            )
    built = [image.name for image in config.notebook.effective_images if image.build is not None]
    registry = config.registry
    if built and not registry.enabled:
        problems.append(
            f"registry.enabled: notebook images built by the stack ({', '.join(built)}) exist only on "
            "the manager; with orchestrator: swarm set registry.enabled: true and registry.address "
            "to the manager's address every node reaches, so nodes pull them from the stack's registry"
        )
    elif registry.enabled and not _is_concrete_non_loopback(registry.address):
        problems.append(
            f"registry.address: {registry.address} cannot be reached from other swarm nodes; set it to "
            "the manager's address every node reaches (and let each node's engine trust it: "
            "docs/how-to/swarm.md)"
        )
    return problems
