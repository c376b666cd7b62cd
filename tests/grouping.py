"""Which tests one worker of the run takes together, and in what order the groups go out.

The whole suite runs on two workers (pytest-xdist, scripts/test.sh). A worker deploys the stacks
its tests use, so the modules that share a stack (tests/e2e/conftest.py, SHARED_STACKS) must all
go to one worker, or the stack is deployed twice; the same holds for the three modules sharing
the swarm. The unit tests are one group, and every other module is its own.

The grouping is by module path, because the controller that hands out the groups sees only test
ids. Which modules use a shared fixture is known only once their tests are collected: the e2e
conftest checks these sets against that at every collection (`check`), so a module that starts
using a shared stack without being listed here fails the run at once, naming the fix.

pytest-xdist's own `--dist loadgroup` cannot express this here: it works by renaming each test
id (`item._nodeid`), which pytest 9 no longer reads, so every test became its own group.
"""

from __future__ import annotations

UNIT_GROUP = "unit"
SHARED_GROUP = "shared-stacks"
SWARM_GROUP = "swarm"

# The modules using `self_signed`, `workshop` or `native` (one worker, one after the other).
SHARED_STACK_MODULES = frozenset(
    f"tests/e2e/{name}.py"
    for name in (
        "test_tls",
        "test_browser",
        "test_hostile_usernames",
        "test_real_engine",
        "test_workshop",
        "test_stacks",
        "test_native",
    )
)
# The modules using `swarm_cluster`.
SWARM_MODULES = frozenset(
    f"tests/e2e/{name}.py" for name in ("test_swarm", "test_swarm_cleanup", "test_swarm_peer")
)

# Handed out longest first, so the two workers finish near the same time (each group's time in
# the last clean-clone run, docs/explanation/tests.md); the rest follow in collection order.
LONGEST_FIRST = (
    UNIT_GROUP,  # first all the same (~60 s): a broken build shows in a minute
    SWARM_GROUP,  # ~300 s: three nested engines, twelve users, a drain
    SHARED_GROUP,  # ~250 s over seven modules
    "tests/e2e/test_remote.py",  # ~160 s: a nested engine over SSH, with its registry
    "tests/e2e/test_servers.py",  # ~100 s
    "tests/e2e/test_oidc.py",
    "tests/e2e/test_api_proxy.py",
    "tests/e2e/test_upgrade.py",
    "tests/e2e/test_engine_model.py",
    "tests/e2e/test_images.py",
)


def module_of(nodeid: str) -> str:
    return nodeid.split("::")[0]


def group_of(nodeid: str) -> str:
    module = module_of(nodeid)
    if module.startswith("tests/unit/"):
        return UNIT_GROUP
    if module in SWARM_MODULES:
        return SWARM_GROUP
    if module in SHARED_STACK_MODULES:
        return SHARED_GROUP
    return module


def longest_first(nodeid: str) -> int:
    group = group_of(nodeid)
    return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)


def check(uses: dict[str, set[str]], shared_stacks: set[str]) -> list[str]:
    """The modules the sets above miss, given each module's shared fixtures as collected (a
    module listed that uses none is only grouped for nothing, and may be a partial collection,
    `-k`, so it is not reported)."""
    problems = []
    for module, used in sorted(uses.items()):
        if used & shared_stacks and module not in SHARED_STACK_MODULES:
            problems.append(f"{module} uses {sorted(used & shared_stacks)}: add it to SHARED_STACK_MODULES")
        if "swarm_cluster" in used and module not in SWARM_MODULES:
            problems.append(f"{module} uses swarm_cluster: add it to SWARM_MODULES")
    return problems
