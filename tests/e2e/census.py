"""What a test run holds on the engine, counted as it goes: stacks and containers alive (the
peak, at the boundaries of every test), and zombie processes on the machine at the end.

A suite whose stacks outlive their tests loads the machine it runs on (sixteen stacks at once
was the finding that made this count); a container whose PID 1 does not reap (an engine run as
PID 1 in a peer container) leaves zombies. Both are printed at the end of every run, beside the
durations, so a regression shows in the next run's output.

The run's two workers (pytest-xdist, scripts/test.sh) each count what they see: every sample is
of the whole engine, so the run's peak is the larger of theirs. Each hands its count to the
controller when it is done (`as_dict`, `merge`), and the controller prints the report, after
every worker has exited, so the zombie count includes whatever they left.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from plan.naming import LABEL_STACK
from tests import janitor


@dataclass
class Census:
    client: docker.DockerClient | None = None
    peak_stacks: int = 0
    peak_stacks_at: str = ""
    peak_containers: int = 0
    peak_containers_at: str = ""
    stacks_seen: set[str] = field(default_factory=set)
    samples: int = 0

    def count(self, where: str) -> None:
        """Sample the engine: stacks with a running container, and running containers."""
        if self.client is None:
            try:
                self.client = docker.from_env(timeout=10)
                self.client.ping()
            except Exception:
                self.client = None
                return
        try:
            containers = janitor.listed_containers(self.client, status="running")
        except Exception:
            return
        stacks = {labels[LABEL_STACK] for _, labels, _ in containers if labels.get(LABEL_STACK)}
        self.samples += 1
        self.stacks_seen |= stacks
        if len(stacks) > self.peak_stacks:
            self.peak_stacks, self.peak_stacks_at = len(stacks), where
        if len(containers) > self.peak_containers:
            self.peak_containers, self.peak_containers_at = len(containers), where

    def as_dict(self) -> dict[str, Any]:
        """What a worker sends the controller (plain values: it crosses a process boundary)."""
        return {
            "peak_stacks": self.peak_stacks,
            "peak_stacks_at": self.peak_stacks_at,
            "peak_containers": self.peak_containers,
            "peak_containers_at": self.peak_containers_at,
            "stacks_seen": sorted(self.stacks_seen),
            "samples": self.samples,
        }

    def merge(self, other: dict[str, Any]) -> None:
        """Add a worker's count: both sampled the same engine, so the peak is the larger one."""
        if other["peak_stacks"] > self.peak_stacks:
            self.peak_stacks, self.peak_stacks_at = other["peak_stacks"], other["peak_stacks_at"]
        if other["peak_containers"] > self.peak_containers:
            self.peak_containers = other["peak_containers"]
            self.peak_containers_at = other["peak_containers_at"]
        self.stacks_seen |= set(other["stacks_seen"])
        self.samples += other["samples"]


def zombies() -> list[str]:
    """Processes in state Z on this machine (every container's included: one kernel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            name, _, rest = stat.partition(") ")
            if rest.startswith("Z"):
                found.append(f"{entry.name} {name.partition('(')[2]}")
    return found


CENSUS = Census()


def report() -> list[str]:
    """The lines the run ends with."""
    zombie_list = zombies()
    lines = [
        f"peak stacks alive: {CENSUS.peak_stacks} (at {CENSUS.peak_stacks_at or '-'})",
        f"peak containers running: {CENSUS.peak_containers} (at {CENSUS.peak_containers_at or '-'})",
        f"stacks deployed in the run: {len(CENSUS.stacks_seen)}",
        f"zombie processes at the end: {len(zombie_list)}"
        + (f" ({', '.join(zombie_list[:10])})" if zombie_list else ""),
    ]
    return lines
