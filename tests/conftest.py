"""Hooks of the whole run: how its two workers share the tests, and what it held on the engine,
reported once at its end.

The controller (pytest-xdist) hands out whole groups of tests (tests/grouping.py) in the order
the workers collected them (`--no-loadscope-reorder`).

The end-to-end tests count stacks and containers as they go (tests/e2e/census.py). Run on two
workers (pytest-xdist, scripts/test.sh), each worker counts and sends its count to the controller
when it is done; the controller, which runs no test and loads only this conftest, prints the
merged report. Run in one process (`pytest` alone), that process counts and prints.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import grouping
from tests.e2e import census


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """(pytest-xdist, on the controller) With `--dist loadscope`, a scope is a group of
    tests/grouping.py: a worker takes every test of the group, in the run's order."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no types
        def _split_scope(self, nodeid: str) -> str:
            return grouping.group_of(nodeid)

    return GroupScheduling(config, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a worker: its count travels with its results
        workeroutput["census"] = census.CENSUS.as_dict()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """(pytest-xdist, on the controller) A worker is done: add its count."""
    counted = getattr(node, "workeroutput", {}).get("census")
    if counted:
        census.CENSUS.merge(counted)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput") or census.CENSUS.samples == 0:
        return  # a worker (the controller reports), or a run without end-to-end tests
    terminalreporter.section("what the run held on the engine (tests/e2e/census.py)")
    for line in census.report():
        terminalreporter.write_line(line)
