"""A class logs in within the same minute: the hub boots their servers a few at a time, and
every server starts without the work a notebook server does not need (README "Benchmark")."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import docker

from tests.e2e.conftest import USER_PASSWORD, StackFactory
from tests.e2e.hubclient import HubError, HubUser

PARTICIPANTS = 6
SLOTS = 2


def test_six_participants_logging_in_at_once_all_get_a_working_server(
    make_stack: StackFactory, engine: docker.DockerClient
) -> None:
    stack = make_stack(
        {"type": "shared-password", "allowAll": True},
        secret_config={"auth.password": USER_PASSWORD},
        # Fewer slots than people, so most of them wait their turn in the hub's queue.
        extra={"hub": {"extraConfig": {"QueuedDockerSpawner": {"boot_slots": SLOTS}}}},
    )
    gate = threading.Barrier(PARTICIPANTS)

    def participant(i: int) -> int:
        person = HubUser(stack.url, f"learner{i}")
        xsrf = person.open_login_form()
        gate.wait(timeout=60)
        if person.submit_login(xsrf, USER_PASSWORD).status_code != 200 or not person.logged_in():
            raise HubError(f"learner{i} could not log in")
        person.wait_spawned(timeout=240)
        if person.server_get("lab").status_code != 200:
            raise HubError(f"learner{i}: the lab page did not load")
        return person.server_get("api/status").status_code

    with ThreadPoolExecutor(max_workers=PARTICIPANTS) as crowd:
        assert list(crowd.map(participant, range(PARTICIPANTS))) == [200] * PARTICIPANTS

    hub_log = engine.containers.get(f"{stack.prefix}-hub").logs().decode()
    assert f"Up to {SLOTS} servers boot at once" in hub_log
    assert "Using Spawner: hub.throughput.QueuedStackSpawner" in hub_log

    server = engine.containers.get(f"{stack.prefix}-user-learner0")
    server_log = server.logs().decode()
    assert "jupyterlab | extension was successfully loaded" in server_log
    # jupyter-lsp's search for language servers, disabled in the image, did not run.
    assert "Skipped non-installed server(s)" not in server_log
    # The imports of a server start no longer build the IRI grammars of rfc3987-syntax.
    probe = server.exec_run(
        [
            "python",
            "-c",
            "import sys, jupyter_events.logger; print(sorted({'lark', 'rfc3987_syntax'} & set(sys.modules)))",
        ]
    )
    assert (probe.exit_code, probe.output.decode().strip()) == (0, "[]")
