"""Least privilege in users' containers, seen from inside a real server: no capabilities, no new
privileges, a PIDs limit that holds, no Docker socket, a read-only root filesystem with a
writable home and /tmp; an image that starts as root gets only what switching user needs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.checkout import default_notebook_image
from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory
from tests.e2e.hubclient import HubUser

PIDS_LIMIT = 200
# What docker-stacks' start.sh does when the container starts as root, in brief: take the
# home for the user, then `exec sudo --user` to it with the environment kept.
START_AS_ROOT = """#!/bin/sh
set -e
chown 1000:1000 /home/jovyan
exec sudo --preserve-env --set-home --user jovyan env PATH="$PATH" "$@"
"""
ROOT_START_LINES = """USER root
RUN apt-get update && apt-get install -y --no-install-recommends sudo && rm -rf /var/lib/apt/lists/*
COPY start-as-root.sh /usr/local/bin/start-as-root.sh
RUN chmod 755 /usr/local/bin/start-as-root.sh
ENTRYPOINT ["/usr/local/bin/start-as-root.sh"]
CMD ["jupyterhub-singleuser"]
"""
# From inside the kernel: writes, capabilities, no_new_privs and sockets, as one tuple.
PROBE = """
import os, pathlib
from jupyter_core.paths import jupyter_runtime_dir
def write(path):
    try:
        pathlib.Path(path).write_text("x")
        return "ok"
    except OSError as error:
        return error.errno
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
(
    write(os.path.expanduser("~/probe")),
    write("/tmp/probe"),
    write("/opt/probe"),
    write("/etc/probe"),
    [status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd")],
    status["NoNewPrivs"].strip(),
    os.getuid(),
    [p for p in ("/var/run/docker.sock", "/run/docker.sock") if os.path.exists(p)],
    jupyter_runtime_dir(),
)
"""
THREADS = f"""
import threading
release = threading.Event()
started = 0
try:
    for _ in range({PIDS_LIMIT * 2}):
        threading.Thread(target=release.wait, daemon=True).start()
        started += 1
except RuntimeError:
    pass
finally:
    release.set()
started
"""
EROFS = 30
NO_CAPABILITIES = "0000000000000000"


def root_start_context(directory: Path) -> Path:
    """The default notebook image, made to start as root and switch user like docker-stacks."""
    default_notebook_image(directory)
    (directory / "start-as-root.sh").write_text(START_AS_ROOT)
    with (directory / "Dockerfile").open("a") as dockerfile:
        dockerfile.write(ROOT_START_LINES)
    return directory


@pytest.fixture(scope="module")
def hardened(make_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    context = root_start_context(tmp_path_factory.mktemp("root-start"))
    stack = make_stack(
        {"type": "shared-password", "allowAll": True},
        secret_config={"auth.password": USER_PASSWORD},
        extra={
            "spawner": {
                "memLimit": "1G",
                "startTimeout": 90,
                "pidsLimit": PIDS_LIMIT,
                "readOnlyRootFilesystem": True,
            },
            "notebook": {
                "images": [
                    {"name": "Python", "build": {"context": "notebook"}},
                    {"name": "Root start", "build": {"context": str(context)}},
                ],
                "default": "Python",
            },
            "profiles": [
                {"name": "plain", "image": "Python", "default": True},
                {"name": "rootstart", "image": "Root start", "startsAsRoot": True},
            ],
        },
    )
    yield stack
    stack.destroy()


def start(stack: Deployment, name: str, profile: str) -> HubUser:
    person = HubUser(stack.url, name)
    assert person.login(USER_PASSWORD).status_code == 200
    response = person.submit_spawn_form({"profile": profile})
    assert response.status_code < 400, response.text[:500]
    person.wait_ready()
    assert person.server_get("lab").status_code == 200
    return person


def test_hardening_a_server_has_no_capabilities_no_socket_and_a_read_only_root(
    hardened: Deployment, engine: docker.DockerClient
) -> None:
    ada = start(hardened, "ada", "plain")
    host = engine.containers.get(f"{hardened.prefix}-user-ada").attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert (host["PidsLimit"], host["ReadonlyRootfs"], host["Privileged"]) == (PIDS_LIMIT, True, False)
    assert set(host["Tmpfs"]) == {"/tmp"}
    # No Docker socket, and nothing from the host but the home volume.
    mounts = engine.containers.get(f"{hardened.prefix}-user-ada").attrs["Mounts"]
    assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", "/home/jovyan")]

    home, tmp, opt, etc, caps, nnp, uid, sockets, runtime = ast.literal_eval(ada.run_code(PROBE))
    assert (home, tmp) == ("ok", "ok"), "home and /tmp are writable"
    assert (opt, etc) == (EROFS, EROFS), "the image's filesystem is read-only"
    assert caps == [NO_CAPABILITIES] * 3 and nnp == "1" and uid == 1000
    assert sockets == []
    # jupyter-server's runtime files (kernel connection files) are in the home: a kernel ran.
    assert runtime.startswith("/home/jovyan/")


def test_hardening_the_pids_limit_stops_a_runaway_process(hardened: Deployment) -> None:
    bea = start(hardened, "bea", "plain")
    started = int(bea.run_code(THREADS))
    assert 10 < started < PIDS_LIMIT, started
    # The server survived the attempt and still runs code.
    assert bea.run_code("6 * 7") == "42"


def test_hardening_an_image_that_starts_as_root_gets_only_what_switching_user_needs(
    hardened: Deployment, engine: docker.DockerClient
) -> None:
    cy = start(hardened, "cy", "rootstart")
    attrs = engine.containers.get(f"{hardened.prefix}-user-cy").attrs
    assert attrs["Config"]["User"] == "0"
    assert sorted(attrs["HostConfig"]["CapAdd"]) == [
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "SETGID",
        "SETUID",
    ]
    assert attrs["HostConfig"]["CapDrop"] == ["ALL"]
    home, tmp, opt, _, caps, nnp, uid, _, _ = ast.literal_eval(cy.run_code(PROBE))
    # The server runs as the user, with no capability left: sudo dropped them with root.
    assert (uid, caps[:2], nnp) == (1000, [NO_CAPABILITIES] * 2, "1")
    assert (home, tmp, opt) == ("ok", "ok", EROFS)
    # The same person's next start with the plain profile is hardened again: the spawner
    # rebuilt the privileges, the root profile did not stick.
    cy.stop_server()
    response = cy.submit_spawn_form({"profile": "plain"})
    assert response.status_code < 400, response.text[:500]
    cy.wait_ready()
    attrs = engine.containers.get(f"{hardened.prefix}-user-cy").attrs
    assert attrs["Config"]["User"] in ("", "jovyan") and not attrs["HostConfig"]["CapAdd"]
