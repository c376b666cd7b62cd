"""A second Docker host in a container: its own engine and an SSH server, for the remote tests.

The container runs with the capabilities ENVIRONMENT.md documents for an engine inside a
container (--privileged is refused on these machines), with a volume at /var/lib/docker so the
inner engine uses overlay2. The user `deploy` may use the engine; its key pair and the host's key
are made per container. Base images are loaded into the inner engine, as nothing can be pulled.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from docker.models.containers import Container

from tests.janitor import RUN, RUN_LABEL, RUN_LABELS
from tests.peers import common

IMAGE = "local/peer-docker-host:1"
LABEL = common.LABEL
KIND = "docker-host"
CONTEXT = Path(__file__).parent


@dataclass(frozen=True)
class ClientTls:
    """A tcp:// engine's CA and a client certificate it accepts, as PEM."""

    ca: str
    cert: str
    key: str


@dataclass(frozen=True)
class DockerHostPeer:
    container_name: str
    volume: str
    address: str  # on the test network
    user: str
    private_key: str  # OpenSSH PEM of a key authorized for `user`
    known_hosts: str  # the host key line for `address`
    client_tls: ClientTls | None = None  # set when the engine also listens on tcp://:2376

    @property
    def tcp_host(self) -> str:
        return f"tcp://{self.address}:2376"

    @property
    def docker_host(self) -> str:
        return f"ssh://{self.user}@{self.address}:22"


def build_image(client: docker.DockerClient) -> str:
    """Build the image unless it already carries the digest of this directory's build files."""
    digest = common.context_digest(CONTEXT, ("Dockerfile", "entrypoint.sh"))
    return common.build_image(client, IMAGE, CONTEXT, kind=KIND, digest=digest)


def _key_pair() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    address: str | None = None,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    signer_name, signer_key = issuer or (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if address is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), critical=False
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signer_key, hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _place_engine_certificates(container: Container, address: str) -> ClientTls:
    """A CA, a server certificate for the container's address and a client certificate; the
    server side goes into /certs, where the entrypoint waits for it before starting dockerd."""
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue("docker test CA", ca_key, None)
    server = _issue(
        address, server_key, (ca.subject, ca_key), address=address, usage=ExtendedKeyUsageOID.SERVER_AUTH
    )
    client = _issue("client", client_key, (ca.subject, ca_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    pem = serialization.Encoding.PEM
    files = {
        "certs/ca.pem": ca.public_bytes(pem),
        "certs/server-cert.pem": server.public_bytes(pem),
        "certs/server-key.pem": _pem_key(server_key).encode(),
    }
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        directory = tarfile.TarInfo("certs")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        # The key last: the entrypoint starts dockerd as soon as it is there.
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    container.put_archive("/", archive.getvalue())
    return ClientTls(
        ca=ca.public_bytes(pem).decode(), cert=client.public_bytes(pem).decode(), key=_pem_key(client_key)
    )


def _run(container: Container, command: str) -> str:
    code, output = container.exec_run(["sh", "-c", command])
    if code != 0:
        raise RuntimeError(f"{command!r} failed in {container.name}: {output.decode(errors='replace')}")
    return str(output.decode())


def start(
    client: docker.DockerClient, network: str, name: str, images: list[str], *, tcp_tls: bool = False
) -> DockerHostPeer:
    """Start the host on `network`, authorize a fresh key for `deploy`, load `images` into it.
    With tcp_tls the engine also serves tcp://<address>:2376, requiring a client certificate."""
    build_image(client)
    volume = client.volumes.create(f"{name}-docker", labels={LABEL: KIND, **RUN_LABELS})
    # The CLI, not the API: `systempaths=unconfined` is a CLI option (it empties the masked and
    # read-only paths), which the Docker SDK cannot express.
    started = subprocess.run(
        [
            # --init: with dockerd as PID 1 nothing reaps the orphans of the sshd sessions and
            # docker CLI calls it runs (one run left 392 zombies); the engine's init does.
            "docker", "run", "-d", "--init", "--name", name, "--network", network,
            "--label", f"{LABEL}={KIND}", "--label", f"{RUN_LABEL}={RUN}",
            "--cap-add=ALL", "--cap-drop=SYS_RESOURCE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns", "host",
            "-v", f"{volume.name}:/var/lib/docker",
            "-e", f"DOCKER_TLS_WAIT={1 if tcp_tls else 0}", IMAGE,
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
    container.reload()
    address = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    client_tls = _place_engine_certificates(container, address) if tcp_tls else None
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
        client_tls=client_tls,
    )


def inner(client: docker.DockerClient, peer: DockerHostPeer, command: str) -> str:
    """Run a shell command on the host (its own docker CLI talks to its own engine)."""
    return _run(client.containers.get(peer.container_name), command)


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
        if container.labels.get(LABEL) == KIND:
            container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    for volume in client.volumes.list(filters={"label": f"{LABEL}={KIND}"}):
        if volume.name == f"{name}-docker":
            volume.remove(force=True)
