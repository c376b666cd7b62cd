"""Every request of the API proxy review, byte for byte, through the real proxy (the handler and
policy the stack's `docker-api` container runs, in a thread: tests/e2e/proxy_thread.py) in
front of the real engine: each is refused, and the engine shows that nothing was created,
imported, retagged, dialled or mounted. The spawner's own create still passes, and the engine
applies exactly what the policy checked. The deployed proxy is tried with the two headline
requests from inside a real hub in tests/e2e/test_api_proxy.py."""

from __future__ import annotations

import copy
import http.server
import io
import json
import secrets
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from hub.api_proxy.docker_policy import PolicyDocument, policy_document
from plan.naming import StackNames
from tests import janitor
from tests.deployers import DeployError
from tests.e2e.conftest import TEST_IMAGES, StackFactory, stack_objects
from tests.e2e.proxy_thread import api_proxy
from tests.unit.spawner_requests import created
from tests.unit.test_docker_policy import accept_any_path
from tests.unit.test_hub_config import SHARED, documents

REFUSED = "refused by the stack's Docker API proxy"
SHARED_FOLDERS = [{"name": "course", "target": "/srv/course", "source": {"volume": {}}, "readOnly": True}]
RAW = {
    "auth": SHARED,
    "shared": SHARED_FOLDERS,
    "registry": {"enabled": True, "username": "t", "password": "p"},
}


@dataclass
class Proxied:
    names: StackNames
    policy: PolicyDocument
    address: tuple[str, int]
    image: str
    engine: docker.DockerClient

    def send(self, method: str, target: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
        """One request as raw bytes over a socket: no client library rewrites the target."""
        head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        with socket.create_connection(self.address, timeout=60) as sock:
            sock.sendall(head.encode() + b"\r\n" + body)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        _, _, payload = rest.partition(b"\r\n\r\n")
        try:
            document = json.loads(payload) if payload else {}
        except ValueError:
            document = {"raw": payload.decode(errors="replace")}
        return int(status_line.split()[1]), document

    def body(self, **kwargs: Any) -> dict[str, Any]:
        """The real spawner's create body for this stack (tests/unit/spawner_requests.py)."""
        body: dict[str, Any] = created(RAW, self.names, **kwargs).body
        return body

    def create_target(self, user: str = "ann") -> str:
        return f"/v1.41/containers/create?name={self.names.user_container_prefix}-{user}"


def assert_refused(answer: tuple[int, dict[str, Any]], reason: str) -> None:
    status, document = answer
    assert status == 403, answer
    assert REFUSED in document.get("message", ""), answer
    assert reason.lower() in document["message"].lower(), answer


@pytest.fixture(scope="module")
def proxied(engine: docker.DockerClient) -> Iterator[Proxied]:
    names = StackNames(project="jupyterhub-docker", stack=f"bp{secrets.token_hex(3)}")
    settings, _ = documents(RAW, names=names)
    policy = policy_document(settings)
    image = settings["spawner"]["image"]
    # The test image stands in for the stack's notebook image, under the stack's name for it.
    engine.images.get(TEST_IMAGES["base"]).tag(image)
    janitor.enter(engine, names.prefix + "-")
    try:
        with api_proxy(policy, engine.api) as url:
            host, port = url.removeprefix("tcp://").rsplit(":", 1)
            yield Proxied(names, policy, (host, int(port)), image, engine)
    finally:
        for container in engine.containers.list(all=True, filters={"name": names.prefix}):
            container.remove(force=True)
        for volume in engine.volumes.list(filters={"name": names.prefix}):
            volume.remove(force=True)
        engine.images.remove(image, force=True)
        janitor.leave(engine, names.prefix + "-")


def nothing_of(proxied: Proxied) -> dict[str, list[str]]:
    return stack_objects(proxied.engine, proxied.names.stack)


NOTHING: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}


def test_api_proxy_bypass_duplicate_and_folded_keys_reach_no_engine(proxied: Proxied) -> None:
    body = proxied.body()
    plain = json.dumps(body)
    evil = '{"HostConfig":{"Privileged":true,"PidMode":"host","Binds":["/:/host"]},'
    nested = plain.replace(
        '"VolumeOptions": {',
        '"VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {"type": "none", "o": "bind", '
        '"device": "/"}}, "DriverConfig": null, ',
        1,
    )
    assert nested != plain
    folded = copy.deepcopy(body)
    folded["HostConfig"]["privileged"] = True
    for case, raw, reason in (
        ("a first HostConfig", (evil + plain[1:]).encode(), "repeats"),
        ("a first DriverConfig", nested.encode(), "repeats"),
        ("a lower-case privileged", json.dumps(folded).encode(), "HostConfig.privileged is refused"),
        (
            "a long s",
            plain.replace('"SecurityOpt"', '"\\u017fecurityOpt": [], "SecurityOpt"').encode(),
            "ASCII",
        ),
    ):
        assert_refused(proxied.send("POST", proxied.create_target(), raw), reason)
        assert nothing_of(proxied) == NOTHING, case


class Listener:
    """A TCP listener that counts who connects: whether the engine was made to dial out."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> int:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()
        return self.accepted


def _tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"attacker's content\n"
        info = tarfile.TarInfo("evil")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_api_proxy_bypass_a_fragment_in_the_target_imports_retags_and_names_nothing(proxied: Proxied) -> None:
    tarball = _tarball()
    fetched: list[str] = []

    class Serve(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(tarball)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = proxied.engine.images.get(proxied.image).id
    try:
        repository, tag = proxied.image.rsplit(":", 1)
        source = f"http://127.0.0.1:{server.server_address[1]}/x.tar"
        for target in (
            f"/v1.41/images/create?fromSrc={source}&repo={repository}&tag={tag}&x=#&fromImage={repository}&tag={tag}",
            f"/v1.41/images/create?fromSrc={source}&repo={repository}:{tag}&fromImage={repository}",
            f"/v1.41/images/create?fromImage={repository}&tag={tag}&changes=CMD%20sh",
        ):
            status, document = proxied.send("POST", target)
            assert status == 403 and REFUSED in document.get("message", ""), (target, status, document)
        body = json.dumps(proxied.body()).encode()
        assert_refused(
            proxied.send("POST", "/v1.41/containers/create?x=#&name=" + proxied.names.hub, body), ""
        )
        assert_refused(proxied.send("POST", "/v1.41/containers/create?x=#", body), "")
    finally:
        server.shutdown()
    assert fetched == [], "the engine fetched the attacker's tarball"
    assert proxied.engine.images.get(proxied.image).id == before, "the notebook image was retagged"
    assert nothing_of(proxied) == NOTHING


def test_api_proxy_bypass_a_login_cannot_make_the_engine_dial_another_address(proxied: Proxied) -> None:
    listener = Listener()
    try:
        registry = proxied.policy["registry"]
        elsewhere = f"127.0.0.1:{listener.port}"
        for raw in (
            f'{{"serveraddress": "{registry}", "\\u017ferveraddress": "{elsewhere}"}}',
            f'{{"serveraddress": "{registry}", "ServerAddress": "{elsewhere}"}}',
            f'{{"serveraddress": "{elsewhere}", "serveraddress": "{registry}"}}',
        ):
            assert_refused(proxied.send("POST", "/v1.41/auth", raw.encode()), "ambiguous key")
    finally:
        accepted = listener.close()
    assert accepted == 0, "the engine connected to the attacker's address"


def test_api_proxy_bypass_another_stacks_volume_and_names_cannot_be_taken(proxied: Proxied) -> None:
    # The data volume of a stack `<stack>-home` is named like the home of this stack's user `data`.
    other = StackNames(project="jupyterhub-docker", stack=proxied.names.stack + "-home")
    assert other.data_volume == f"{proxied.names.user_volume_prefix}-data"
    victim = proxied.engine.volumes.create(
        other.data_volume,
        labels={**other.labels, "org.jupyterhub-docker.role": "hub-data", **janitor.RUN_LABELS},
    )
    try:
        body = json.dumps(proxied.body(user="data")).encode()
        assert_refused(
            proxied.send("POST", proxied.create_target("data"), body),
            "exists and is not one of the stack's homes",
        )
        assert [
            c.name for c in proxied.engine.containers.list(all=True, filters={"volume": victim.name})
        ] == []
    finally:
        victim.remove(force=True)
    # A name no escaped username has: the API proxy of a stack `<stack>-user`.
    squat = f"/v1.41/containers/create?name={proxied.names.user_container_prefix}-docker-api"
    assert_refused(
        proxied.send("POST", squat, json.dumps(proxied.body()).encode()), "as DockerSpawner escapes"
    )
    assert nothing_of(proxied) == NOTHING


def _changed(body: dict[str, Any], change: Any) -> bytes:
    changed = copy.deepcopy(body)
    change(changed)
    return json.dumps(changed).encode()


def test_api_proxy_bypass_values_the_stack_does_not_configure_are_refused(proxied: Proxied) -> None:
    body = proxied.body()

    def course(b: dict[str, Any]) -> dict[str, Any]:
        mount: dict[str, Any] = next(m for m in b["HostConfig"]["Mounts"] if m["Target"] == "/srv/course")
        return mount

    cases = {
        "a read-only folder writable, as root": (
            lambda b: (course(b).update(ReadOnly=False), b.update(User="0")),
            "read-only for everyone",
        ),
        "no memory limit": (lambda b: b["HostConfig"].update(Memory=0), "memory limit 0"),
        "no PIDs limit": (lambda b: b["HostConfig"].update(PidsLimit=-1), "pidslimit -1"),
        "a huge /dev/shm": (lambda b: b["HostConfig"].update(ShmSize=2**40), "shmsize"),
        "CPU shares": (lambda b: b["HostConfig"].update(CpuShares=262144), "cpushares"),
        "an anonymous volume": (lambda b: b.update(Volumes={"/data": {}}), "volumes"),
        "restart always": (
            lambda b: b["HostConfig"].update(RestartPolicy={"Name": "always"}),
            "restartpolicy",
        ),
        "a working dir in /proc": (lambda b: b.update(WorkingDir="/proc/self/fd/7"), "workingdir"),
        "a mount over /etc": (
            lambda b: b["HostConfig"]["Mounts"][0].update(Target="/etc"),
            "mount at '/etc'",
        ),
        "a top-level CpusetCpus": (lambda b: b.update(CpusetCpus="0"), "cpusetcpus"),
    }
    for case, (change, reason) in cases.items():
        answer = proxied.send("POST", proxied.create_target(), _changed(body, change))
        assert answer[0] == 403 and reason.lower() in answer[1].get("message", "").lower(), (case, answer)
    assert_refused(
        proxied.send(
            "POST",
            "/v1.44/containers/create?name=" + proxied.names.user_container_prefix + "-ann",
            json.dumps(body).encode(),
        ),
        "speaks 1.41 only",
    )
    assert nothing_of(proxied) == NOTHING


def test_api_proxy_the_spawners_create_passes_and_the_engine_applies_what_was_checked(
    proxied: Proxied,
) -> None:
    body = proxied.body()
    status, document = proxied.send("POST", proxied.create_target(), json.dumps(body).encode())
    assert status == 201, document
    container = proxied.engine.containers.get(document["Id"])
    try:
        host = container.attrs["HostConfig"]
        assert host["Privileged"] is False and host["PidMode"] == "" and not host["Binds"]
        assert host["Memory"] == body["HostConfig"]["Memory"] and host["PidsLimit"] == 1024
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges:true"]
        assert [(m["Target"], m.get("ReadOnly", False)) for m in host["Mounts"]] == [
            ("/home/jovyan", False),
            ("/srv/course", True),
        ]
        assert container.name == f"{proxied.names.user_container_prefix}-ann"
        home = proxied.engine.volumes.get(f"{proxied.names.user_volume_prefix}-ann")
        assert home.attrs["Labels"]["org.jupyterhub-docker.role"] == "user-home"
        # The same home again, now that it exists with the stack's labels: allowed.
        status, _ = proxied.send(
            "DELETE", f"/v1.41/containers/{container.name}?v=False&link=False&force=True"
        )
        assert status == 204
        status, document = proxied.send("POST", proxied.create_target(), json.dumps(body).encode())
        assert status == 201, document
        proxied.engine.containers.get(document["Id"]).remove(force=True)
    finally:
        for leftover in proxied.engine.containers.list(all=True, filters={"name": proxied.names.prefix}):
            leftover.remove(force=True)
        for volume in proxied.engine.volumes.list(filters={"name": proxied.names.prefix}):
            volume.remove(force=True)


def test_api_proxy_bypass_a_stack_whose_names_collide_with_anothers_is_refused_before_anything_is_created(
    make_stack: StackFactory, engine: docker.DockerClient
) -> None:
    """Stacks `x` and `x-home` on one engine would share names (the home of `x`'s user `data` is
    `x-home`'s database volume): the second `up` stops at the connection check."""
    base = f"nc{secrets.token_hex(3)}"
    other = StackNames(project="jupyterhub-docker", stack=f"{base}-home")
    # The other stack, as the engine shows it: its labelled data volume.
    volume = engine.volumes.create(other.data_volume, labels={**other.labels, **janitor.RUN_LABELS})
    try:
        with pytest.raises(DeployError) as failure:
            make_stack(
                {"type": "shared-password", "allowAll": True},
                secret_config={"auth.password": "pw-123456"},
                name=base,
            )
        message = str(failure.value)
        assert f"stack name '{base}'" in message and f"the stack '{base}-home'" in message, message[-2000:]
        # Nothing of the refused stack: only the other stack's volume, which shares the prefix.
        assert stack_objects(engine, base) == {**NOTHING, "volumes": [other.data_volume]}
    finally:
        volume.remove(force=True)


def test_api_proxy_hostpath_a_bind_a_settings_file_asked_for_reaches_no_engine(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The sweep's case, as if the program had not refused it at preview: the engine's
    # directory as a folder everyone may write. The spawner's own create for it is refused by
    # the real proxy, and the engine has nothing; the same create for a directory made for
    # sharing passes, so it is the path that is refused.
    accept_any_path(monkeypatch)

    def spawned(source: str) -> tuple[int, dict[str, Any]]:
        raw = {
            "auth": SHARED,
            "shared": [{"name": "run", "target": "/srv/run", "source": {"hostPath": source}}],
        }
        settings, _ = documents(raw, names=proxied.names)
        body = json.dumps(created(raw, proxied.names).body).encode()
        with api_proxy(policy_document(settings), proxied.engine.api) as url:
            host, port = url.removeprefix("tcp://").rsplit(":", 1)
            sender = Proxied(proxied.names, proxied.policy, (host, int(port)), proxied.image, proxied.engine)
            return sender.send("POST", proxied.create_target(), body)

    for source in ("/var/run", "/run", "/var/lib/docker"):
        assert_refused(spawned(source), f"the host directory {source!r} is {source}, a system directory")
        assert nothing_of(proxied) == NOTHING
    status, document = spawned(str(tmp_path))
    assert status == 201, document
    try:
        mounts = proxied.engine.containers.get(document["Id"]).attrs["HostConfig"]["Mounts"]
        assert {(m["Type"], m["Source"], m["Target"]) for m in mounts} >= {
            ("bind", str(tmp_path), "/srv/run")
        }
    finally:
        for leftover in proxied.engine.containers.list(all=True, filters={"name": proxied.names.prefix}):
            leftover.remove(force=True)
        for volume in proxied.engine.volumes.list(filters={"name": proxied.names.prefix}):
            volume.remove(force=True)
