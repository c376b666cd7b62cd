"""What the plan step asks of the world beyond the stack config: the engine (does it answer?)
and the machine running Pulumi (the client files through which the docker CLI and the provider
reach the host). Injected into `plan_deployment`, so the program under Pulumi's mocks (the unit
tests, `python -m tests.harness record`) runs without any Docker engine, and a deploy asks the
real one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from config.stack import StackConfig
from plan.connection import ConnectionFiles
from plan.engine_check import check_engine
from plan.naming import StackNames


class Preflight(Protocol):
    def check_engine(self, config: StackConfig) -> None:
        """Raise a ConfigError that says what is wrong when the engine cannot be used."""

    def write_client_files(self, config: StackConfig, names: StackNames, project_dir: Path) -> None:
        """Write the stack's ssh and TLS client files (plan/connection.py)."""


class EnginePreflight:
    """The real one: asks the engine at dockerHost (plan/engine_check.py)."""

    def check_engine(self, config: StackConfig) -> None:
        check_engine(config)

    def write_client_files(self, config: StackConfig, names: StackNames, project_dir: Path) -> None:
        ConnectionFiles(names.stack).write(config, project_dir)


class StandInPreflight(EnginePreflight):
    """For the program under mocks, where nothing reaches an engine: the engine answers as a
    healthy one does (its failures are tested with the real check, which needs no engine to
    find a socket missing). The client files are written as for a deploy: they are files."""

    def check_engine(self, config: StackConfig) -> None:
        return None


_current: list[Preflight] = [EnginePreflight()]


def current() -> Preflight:
    """The preflight the program runs with: the real one, unless a caller chose another."""
    return _current[-1]


@contextlib.contextmanager
def use(preflight: Preflight) -> Iterator[None]:
    """Run the program (in this process) with `preflight`."""
    _current.append(preflight)
    try:
        yield
    finally:
        _current.pop()
