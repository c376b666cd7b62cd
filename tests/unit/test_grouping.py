"""The groups the run's two workers take whole (tests/grouping.py)."""

from __future__ import annotations

from tests import grouping

SHARED = {"self_signed", "workshop", "native"}


def test_grouping_keeps_a_shared_stacks_modules_and_the_swarms_together() -> None:
    assert grouping.group_of("tests/unit/test_config.py::test_x") == grouping.UNIT_GROUP
    assert grouping.group_of("tests/e2e/test_tls.py::test_a[harness]") == grouping.SHARED_GROUP
    assert grouping.group_of("tests/e2e/test_native.py::test_b[automation]") == grouping.SHARED_GROUP
    assert grouping.group_of("tests/e2e/test_swarm_peer.py::test_c") == grouping.SWARM_GROUP
    assert grouping.group_of("tests/e2e/test_oidc.py::test_d[harness]") == "tests/e2e/test_oidc.py"
    # Longest first: the swarm before the shared stacks, both before a module not listed.
    order = sorted(
        ["tests/e2e/test_ldap.py::t", "tests/e2e/test_tls.py::t", "tests/e2e/test_swarm.py::t"],
        key=grouping.longest_first,
    )
    assert order == ["tests/e2e/test_swarm.py::t", "tests/e2e/test_tls.py::t", "tests/e2e/test_ldap.py::t"]


def test_grouping_names_a_module_that_uses_a_shared_fixture_without_being_listed() -> None:
    uses = {
        "tests/e2e/test_new.py": {"workshop"},
        "tests/e2e/test_new_swarm.py": {"swarm_cluster"},
        "tests/e2e/test_tls.py": {"self_signed"},
        # Listed but using nothing in this collection (a `-k` run): not an error.
        "tests/e2e/test_native.py": set(),
        "tests/e2e/test_ldap.py": set(),
    }
    assert grouping.check(uses, SHARED) == [
        "tests/e2e/test_new.py uses ['workshop']: add it to SHARED_STACK_MODULES",
        "tests/e2e/test_new_swarm.py uses swarm_cluster: add it to SWARM_MODULES",
    ]
