"""Admission on real stacks: the hub admits servers by what each is guaranteed (memGuarantee,
reserved on the Docker host), so the defaults take a class of 20 logging in at once; a hub that
is full tells the person why and when, in their browser, and lets them in by itself once a
place frees; the admin page and the metrics show the same figures."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import docker
import requests
from playwright.sync_api import expect

from tests.e2e.browser import Screenshots, chromium
from tests.e2e.conftest import ADMIN_PASSWORD, USER_PASSWORD, StackFactory
from tests.e2e.hubclient import HubError, HubUser
from tests.e2e.polling import eventually
from tests.e2e.test_browser import keep_logs

CLASS = 20
SECRETS = {"auth.password": USER_PASSWORD, "auth.adminPassword": ADMIN_PASSWORD}
MEMORY_SHARE = 0.9  # hub/servers.py


def test_admission_twenty_people_logging_in_at_once_on_the_defaults_all_get_a_server(
    make_stack: StackFactory, engine: docker.DockerClient
) -> None:
    # The defaults (memLimit 2G, memGuarantee 512M): a 24 GiB host admits 42 servers; by the
    # limit it was 10, and the other 10 of 20 got "429: Active user limit exceeded".
    stack = make_stack(
        {"type": "shared-password", "allowAll": True},
        secret_config={"auth.password": USER_PASSWORD},
        # The spawner's defaults, not the test stacks' smaller memLimit.
        extra={"spawner": {}},
    )
    gate = threading.Barrier(CLASS)

    def participant(i: int) -> int:
        person = HubUser(stack.url, f"learner{i}")
        xsrf = person.open_login_form()
        gate.wait(timeout=60)
        if person.submit_login(xsrf, USER_PASSWORD).status_code != 200 or not person.logged_in():
            raise HubError(f"learner{i} could not log in")
        person.wait_spawned(timeout=400)
        if person.server_get("lab").status_code != 200:
            raise HubError(f"learner{i}: the lab page did not load")
        return person.server_get("api/status").status_code

    with ThreadPoolExecutor(max_workers=CLASS) as crowd:
        assert list(crowd.map(participant, range(CLASS))) == [200] * CLASS

    hub_log = engine.containers.get(f"{stack.prefix}-hub").logs().decode()
    assert "Active user limit exceeded" not in hub_log
    assert "Using Spawner: hub.spawners.throughput.QueuedStackSpawner" in hub_log
    servers = engine.containers.list(filters={"name": f"{stack.prefix}-user-"})
    assert len(servers) == CLASS
    # Each is guaranteed 512 MiB on the host and capped at 2 GiB.
    host = servers[0].attrs["HostConfig"]
    assert (host["MemoryReservation"], host["Memory"]) == (512 * 2**20, 2 * 2**30)

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


def metric(url: str, token: str, name: str, labels: str = "") -> float:
    text = requests.get(url + "hub/metrics", headers={"Authorization": f"token {token}"}, timeout=30).text
    match = re.search(
        rf"^{re.escape(name)}(?:{{[^}}]*{re.escape(labels)}[^}}]*}})? ([0-9.e+-]+)$", text, re.M
    )
    assert match, f"{name}{{{labels}}} not in the metrics"
    return float(match.group(1))


def test_admission_a_full_hub_says_why_and_when_and_lets_the_next_person_in_by_itself(
    make_stack: StackFactory, engine: docker.DockerClient, tmp_path: Path
) -> None:
    # A guarantee so large that this host's memory holds exactly one server: the limit is
    # derived by the hub from the engine's MemTotal, as on any host.
    memory = int(engine.info()["MemTotal"])
    guarantee_gib = int(memory * 0.6) // 2**30
    limit = int(memory * MEMORY_SHARE) // (guarantee_gib * 2**30)
    assert limit == 1, (memory, guarantee_gib)
    size = f"{guarantee_gib}G"
    stack = make_stack(
        {"type": "shared-password", "admins": ["teacher"], "allowAll": True},
        secret_config=SECRETS,
        extra={"spawner": {"memLimit": size, "memGuarantee": size}},
    )
    alice = HubUser(stack.url, "alice")
    assert alice.login(USER_PASSWORD).status_code == 200
    alice.start_server()
    reservation = engine.containers.get(f"{stack.prefix}-user-alice").attrs["HostConfig"]["MemoryReservation"]
    assert reservation == guarantee_gib * 2**30

    # Bob, in his browser: the hub is full.
    port = urlsplit(stack.url).port
    assert port is not None
    with chromium(tmp_path, [port]) as browser:
        page = browser.new_page()
        shots = Screenshots(page, "admission-full-hub")
        try:
            page.goto(stack.url, timeout=30_000)
            page.locator("#username_input").fill("bob")
            page.locator("#password_input").fill(USER_PASSWORD)
            page.locator("#login_submit").click()
            explained = page.locator("#jhub-admission")
            expect(explained).to_be_visible(timeout=60_000)
            shots.take("full")
            text = explained.inner_text()
            assert "This hub runs at most 1 servers at once, and 1 are running now." in text
            assert f"each server is guaranteed {guarantee_gib} GiB (a server may use up to {size})" in text
            assert "Stop My Server" in text and "not been used for 60 minutes" in text
            assert re.search(r"tries again by itself in \d+ seconds", text), text
            assert "Active user limit exceeded" in page.content()

            # The teacher sees the same on the admin page; the metrics count the refusal.
            teacher = HubUser(stack.url, "teacher")
            teacher.login(ADMIN_PASSWORD)  # the hub is full for the teacher's own server too
            assert teacher.logged_in()
            admin_page = teacher.session.get(teacher.url("hub/admin"), timeout=30).text
            assert "Servers running: <strong>1</strong>" in admin_page
            assert "The hub is full" in admin_page
            token = str(stack.outputs["metricsToken"])
            assert metric(stack.url, token, "jupyterhub_docker_active_server_limit") == 1
            assert metric(stack.url, token, "jupyterhub_docker_server_memory_guarantee_bytes") == reservation
            refused = 'reason="too-many-users",status="failure"'
            assert metric(stack.url, token, "jupyterhub_server_spawn_duration_seconds_count", refused) >= 1

            # Alice stops; Bob's page asks again by itself and he gets his server.
            alice.stop_server()
            expect(page.locator(".jp-Launcher").first).to_be_visible(timeout=120_000)
            shots.take("admitted")
            assert page.url.startswith(f"{stack.url}user/bob/"), page.url
        except BaseException:
            shots.take("failure")
            keep_logs(engine, stack, "bob", shots.folder)
            raise
    eventually(
        lambda: metric(stack.url, str(stack.outputs["metricsToken"]), "jupyterhub_running_servers") == 1,
        timeout=30,
        what="the running-servers gauge counting Bob's server alone",
    )
