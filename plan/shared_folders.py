"""The shared folders' Docker side, as the plan derives it (plan/deployment_plan.py `_shared`):
what components/shared.py creates and checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SharedFolderPlan:
    key: str  # shared[<index>], for messages
    name: str
    kind: str  # volume, hostPath, cifs, nfs
    source: str  # the Docker volume's name, or the directory on the Docker host
    describe: str  # what a person recognizes: //server/share (cifs)
    # cifs/nfs: the local driver's options; `secret` when they hold a password.
    driver_options: tuple[tuple[str, str], ...] = ()
    secret: bool = False
    # volume: the directory copied in (as configured: relative to the project directory, the
    # working directory of the check), and a digest of its content, so a change copies again.
    seed: str | None = None
    seed_digest: str | None = None
