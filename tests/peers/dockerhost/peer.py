"""A second Docker host in a container: its own engine and an SSH server, for the remote tests.

The container runs with the capabilities ENVIRONMENT.md documents for an engine inside a
container (--privileged is refused on these machines), with a volume at /var/lib/docker so the
inner engine uses overlay2. The user `deploy` may use the engine; its key pair and the host's key
are made per container. Base images are loaded into the inner engine, as nothing can be pulled.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

IMAGE = "local/peer-docker-host:1"
LABEL = "org.jupyterhub-docker.test-peer"
CONTEXT = Path(__file__).parent


@dataclass(frozen=True)
class DockerHostPeer:
    container_name: str
    volume: str
    address: str  # on the test network
    user: str
    private_key: str  # OpenSSH PEM of a key authorized for `user`
    known_hosts: str  # the host key line for `address`

    @property
    def docker_host(self) -> str:
        return f"ssh://{self.user}@{self.address}:22"


def build_image(client: docker.DockerClient) -> str:
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        client.images.build(path=str(CONTEXT), tag=IMAGE, rm=True, forcerm=True)
    return IMAGE


def _key_pair() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


def _run(container: docker.models.containers.Container, command: str) -> str:
    code, output = container.exec_run(["sh", "-c", command])
    if code != 0:
        raise RuntimeError(f"{command!r} failed in {container.name}: {output.decode(errors='replace')}")
    return str(output.decode())


def start(client: docker.DockerClient, network: str, name: str, images: list[str]) -> DockerHostPeer:
    """Start the host on `network`, authorize a fresh key for `deploy`, load `images` into it."""
    build_image(client)
    volume = client.volumes.create(f"{name}-docker", labels={LABEL: "docker-host"})
    # The CLI, not the API: `systempaths=unconfined` is a CLI option (it empties the masked and
    # read-only paths), which the Docker SDK cannot express.
    started = subprocess.run(
        [
            "docker", "run", "-d", "--name", name, "--network", network, "--label", f"{LABEL}=docker-host",
            "--cap-add=ALL", "--cap-drop=SYS_RESOURCE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns", "host",
            "-v", f"{volume.name}:/var/lib/docker", IMAGE,
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if started.returncode != 0:
        raise RuntimeError(f"starting {name} failed: {started.stderr}")
    container = client.containers.get(name)
    private, public = _key_pair()
    _run(
        container, f"echo '{public}' > /home/deploy/.ssh/authorized_keys && chown deploy /home/deploy/.ssh/*"
    )
    deadline = time.monotonic() + 90
    while True:
        container.reload()
        if container.status != "running":
            raise RuntimeError(f"{name} stopped: {container.logs(tail=30).decode(errors='replace')}")
        if container.exec_run(["docker", "info"]).exit_code == 0:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the engine in {name} did not start: {container.logs(tail=30).decode()}")
        time.sleep(0.5)
    address = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    key_type, key = _run(container, "cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2]
    save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
    load = subprocess.run(
        ["docker", "exec", "-i", name, "docker", "load"], stdin=save.stdout, capture_output=True
    )
    if save.wait() != 0 or load.returncode != 0:
        raise RuntimeError(f"loading images into {name} failed: {load.stderr.decode(errors='replace')}")
    return DockerHostPeer(
        container_name=name,
        volume=volume.name,
        address=address,
        user="deploy",
        private_key=private,
        known_hosts=f"{address} {key_type} {key}",
    )


def inner_objects(client: docker.DockerClient, peer: DockerHostPeer, stack: str) -> dict[str, list[str]]:
    """The stack's containers, volumes and networks on the host's own engine."""
    container = client.containers.get(peer.container_name)
    prefix = f"jhub-{stack}-"

    def names(command: str) -> list[str]:
        return sorted(n for n in _run(container, command).split() if n.startswith(prefix))

    return {
        "containers": names("docker ps -a --format '{{.Names}}'"),
        "volumes": names("docker volume ls -q"),
        "networks": names("docker network ls --format '{{.Name}}'"),
    }


def stop(client: docker.DockerClient, peer: DockerHostPeer | None, name: str) -> None:
    try:
        container = client.containers.get(name)
        if container.labels.get(LABEL) == "docker-host":
            container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    for volume in client.volumes.list(filters={"label": f"{LABEL}=docker-host"}):
        if volume.name == f"{name}-docker":
            volume.remove(force=True)
