"""The scripts `up` runs on the Docker host before anything is created (host_scripts/),
run as pulumi-command runs them, against the real engine."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from host_scripts import script
from plan.build import JUPYTERHUB_VERSION_LABEL
from tests.deployers import PROJECT_DIR
from tests.e2e.conftest import free_port

BASE = "local/python:3.11-bookworm"


def run_script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As pulumi-command runs it: `python3 -c` with the prelude, in the project directory."""
    return subprocess.run(
        [sys.executable, "-c", script(name)],
        env={**os.environ, **env},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def labelled_images(engine: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Images whose label states a JupyterHub version while none is installed in them: what the
    label says can be told apart from what Python in the image would say."""
    tags = {}
    for version in ("4.1.6", "5.5.4"):
        tag = f"local/version-label:{version}"
        dockerfile = f"FROM {BASE}\nLABEL {JUPYTERHUB_VERSION_LABEL}={version}\n"
        engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
        tags[version] = tag
    yield tags
    for tag in tags.values():
        engine.images.remove(tag, force=True)


def version_check(image: str, *, trust_label: bool) -> subprocess.CompletedProcess[str]:
    env = {"JHUB_IMAGE": image, "JHUB_EXPECTED_VERSION": "5.5.4"}
    if trust_label:
        env["JHUB_VERSION_LABEL"] = JUPYTERHUB_VERSION_LABEL
    return run_script("check_jupyterhub_version", env)


def test_the_project_notebook_build_is_checked_by_its_label(labelled_images: dict[str, str]) -> None:
    refused = version_check(labelled_images["4.1.6"], trust_label=True)
    assert refused.returncode != 0
    assert "has JupyterHub 4.1.6, the hub has 5.5.4: the major versions must match" in refused.stderr
    accepted = version_check(labelled_images["5.5.4"], trust_label=True)
    assert accepted.returncode == 0, accepted.stderr
    assert "JupyterHub 5.5.4 matches the hub's 5.5.4" in accepted.stdout


def test_any_other_image_is_asked_whatever_its_label_says(labelled_images: dict[str, str]) -> None:
    # Not built from notebook/: the label is not trusted, and Python in the image finds no
    # JupyterHub at all.
    asked = version_check(labelled_images["5.5.4"], trust_label=False)
    assert asked.returncode != 0
    assert "cannot read its JupyterHub version" in asked.stderr
    # Trusted, but without the label: asked as well.
    unlabelled = version_check(BASE, trust_label=True)
    assert unlabelled.returncode != 0
    assert "cannot read its JupyterHub version" in unlabelled.stderr


# --- the port check --------------------------------------------------------------------------
ENGINE_SOCKET = "/var/run/docker.sock"


class _Relay(socketserver.BaseRequestHandler):
    """One client connection, carried to the engine's socket and back."""

    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX) as upstream:
            upstream.connect(ENGINE_SOCKET)

            def pump(source: socket.socket, sink: socket.socket) -> None:
                with contextlib.suppress(OSError):
                    while data := source.recv(65536):
                        sink.sendall(data)
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
            back.start()
            pump(self.request, upstream)
            back.join(timeout=60)


@pytest.fixture(scope="module")
def engine_over_tcp() -> Iterator[str]:
    """The local engine reached as tcp://, as a remote engine is: the script cannot tell that it
    shares the engine's network namespace, so it must ask the engine with a probe container."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Relay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def ports_check(docker_host: str, port: int) -> subprocess.CompletedProcess[str]:
    stack = f"ports{secrets.token_hex(2)}"
    return run_script(
        "check_ports",
        {
            "DOCKER_HOST": docker_host,
            "JHUB_PORTS": json.dumps([{"key": "publish.port", "address": "127.0.0.1", "port": port}]),
            "JHUB_STACK_LABELS": json.dumps({"jupyterhub-docker.stack": stack}),
            "JHUB_STACK_LABEL": "jupyterhub-docker.stack",
            "JHUB_PROBE_IMAGE": "local/debian:bookworm",
            "JHUB_PROBE_NAME": f"jhub-{stack}-port-probe",
        },
    )


@pytest.mark.parametrize(
    ("how", "answer"),
    [
        ("unix", "bound here, in the engine's network namespace"),
        ("tcp", "published by a probe container"),
    ],
)
def test_a_port_a_process_holds_is_refused_whether_bound_here_or_probed(
    how: str, answer: str, engine_over_tcp: str, engine: docker.DockerClient
) -> None:
    docker_host = f"unix://{ENGINE_SOCKET}" if how == "unix" else engine_over_tcp
    free = ports_check(docker_host, free_port())
    assert free.returncode == 0, free.stderr
    assert answer in free.stdout
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        port = held.getsockname()[1]
        refused = ports_check(docker_host, port)
    assert refused.returncode != 0
    taken = f"publish.port: port {port} on 127.0.0.1 is taken on the Docker host by a process"
    assert taken in refused.stderr
    # The probe leaves nothing behind.
    assert not engine.containers.list(all=True, filters={"name": "jhub-ports"})


def mounts_check(docker_host: str, folders: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    stack = f"mounts{secrets.token_hex(2)}"
    shared = [
        {"key": f"shared[{index}]", "kind": "hostPath", "type": "bind", "source": str(path),
         "describe": f"host directory {path}", "owned": False, "seed": None, "seedDigest": None}
        for index, path in enumerate(folders.values())
    ]  # fmt: skip
    return run_script(
        "check_mounts",
        {
            "DOCKER_HOST": docker_host,
            "JHUB_SHARED": json.dumps(shared),
            "JHUB_SHARED_OWNER": "1000",
            # The stack's probe image (plan/deployment_plan.py: the proxy's), which has no realpath:
            # the host's answers, through chroot.
            "JHUB_PROBE_IMAGE": "local/configurable-http-proxy:bookworm",
            "JHUB_PROBE_NAME": f"jhub-{stack}-mount-probe",
            "JHUB_ENGINE_SOCKET": ENGINE_SOCKET,
            "JHUB_VOLUMES": "",
        },
    )


def test_hostpath_a_link_into_a_system_directory_fails_the_mount_check_of_a_remote_host(
    tmp_path: Path, engine_over_tcp: str, engine: docker.DockerClient
) -> None:
    # On an ssh:// or tcp:// host preview cannot see the directories; `up`'s mount check follows
    # the links where Docker will, on the host (here the engine is reached over tcp://, as a
    # remote one is, and its host is this machine).
    (tmp_path / "notes").mkdir()
    (tmp_path / "course").symlink_to(tmp_path / "notes")
    (tmp_path / "run").symlink_to("/run")
    (tmp_path / "system").symlink_to("/var")
    harmless = {"notes": tmp_path / "notes", "course": tmp_path / "course"}
    passed = mounts_check(engine_over_tcp, harmless)
    assert passed.returncode == 0, passed.stderr
    assert "2 shared folder(s) mount on the Docker host" in passed.stdout
    linked = {"run": tmp_path / "run", "docker": tmp_path / "system" / "lib" / "docker"}
    refused = mounts_check(engine_over_tcp, {**harmless, **linked})
    assert refused.returncode != 0
    assert (
        f"shared[2].source.hostPath: {str(tmp_path / 'run')!r} leads by a symbolic link to '/run', which is "
        "/run, a system directory of the Docker host; every user's server would mount it" in refused.stderr
    )
    assert (
        f"shared[3].source.hostPath: {str(linked['docker'])!r} leads by a symbolic link to "
        "'/var/lib/docker', which is /var/lib/docker, a system directory of the Docker host" in refused.stderr
    )
    assert "shared[0]" not in refused.stderr and "shared[1]" not in refused.stderr
    # The probe leaves nothing behind.
    assert not engine.containers.list(all=True, filters={"name": "jhub-mounts"})
