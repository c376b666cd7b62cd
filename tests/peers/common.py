"""The Docker mechanics the test peers (ldap, oidc, pebble) share; each peer.py keeps what is its own.

A peer is an image built from the directory of its peer.py and a container of it, both labelled
``LABEL=<kind>`` (``ldap``, ``oidc``, ``pebble``). Usage, from a peer module::

    build_image(client, IMAGE, CONTEXT, kind="ldap", digest=context_digest(CONTEXT, CONTEXT_FILES))
    container = run(client, IMAGE, name, kind="ldap", network=network, hostname=hostname, environment={})
    ca_pem = wait_for_ca(container, probe, ca_path="/certs/ca.pem", timeout=60.0)
    ...
    stop(client, name, kind="ldap")
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from tests.janitor import RUN_LABELS

LABEL = "org.jupyterhub-docker.test-peer"  # value: the peer's kind; marks what stop() may remove
DIGEST_LABEL = "org.jupyterhub-docker.test-peer.digest"  # digest of the files the image is built from
BUILD_TIMEOUT = 600  # seconds, HTTP timeout of a build
BASE_IMAGE = "local/debian:bookworm"  # every peer's FROM
LOG_LINES = 50  # how many of a failed container's last log lines an error carries
PEM_END = "-----END CERTIFICATE-----"


class PeerError(RuntimeError):
    """A test peer's image could not be built, its container did not come up, or it answered wrongly."""


def context_digest(context: Path, files: Iterable[str]) -> str:
    """SHA-256 (hex) of the named files of a build context, names included."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (context / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _base_id(client: docker.DockerClient) -> str:
    try:
        return str(client.images.get(BASE_IMAGE).id)
    except docker.errors.ImageNotFound:
        return ""


def image_is_current(client: docker.DockerClient, image: str, digest: str, digest_label: str) -> bool:
    """True if `image` exists and carries `digest` under `digest_label`."""
    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return False
    return bool(labels.get(digest_label) == digest)


def build_image(
    client: docker.DockerClient,
    image: str,
    context: Path,
    *,
    kind: str,
    digest: str,
    digest_label: str = DIGEST_LABEL,
    buildargs: Mapping[str, str] | None = None,
    timeout: int = BUILD_TIMEOUT,
    error: type[PeerError] = PeerError,
) -> str:
    """Build `image` from `context` unless it already carries `digest`; returns `image`.

    The image is labelled ``LABEL=kind`` and ``digest_label=digest``, so the next call is a no-op
    until the files `digest` was made from change, or the base every peer is built on
    (local/debian:bookworm, scripts/test-env.sh) is made again. A failed build raises `error`
    with the log's end.
    """
    digest = hashlib.sha256(f"{digest}\0{_base_id(client)}".encode()).hexdigest()
    if image_is_current(client, image, digest, digest_label):
        return image
    try:
        client.images.build(
            path=str(context),
            tag=image,
            buildargs=dict(buildargs or {}),
            labels={LABEL: kind, digest_label: digest},
            rm=True,
            forcerm=True,
            pull=False,
            timeout=timeout,
        )
    except docker.errors.BuildError as build_error:
        log = "".join(str(chunk.get("stream") or chunk.get("error") or "") for chunk in build_error.build_log)
        raise error(f"building {image} failed: {build_error.msg}\n{log[-4000:]}") from build_error
    return image


def run(
    client: docker.DockerClient,
    image: str,
    name: str,
    *,
    kind: str,
    network: str,
    hostname: str,
    environment: Mapping[str, str],
    publish: int | None = None,
    error: type[PeerError] = PeerError,
) -> Container:
    """Run `image` detached as `name`, labelled ``LABEL=kind``, on `network` (which must exist).

    The container's hostname and its alias on `network` are `hostname`. With `publish`, that container
    port (TCP) is published on 127.0.0.1 under the same number. A leftover container of the same kind
    and name is removed first (see stop()).
    """
    stop(client, name, kind=kind, error=error)
    container: Container = client.containers.run(
        image,
        name=name,
        hostname=hostname,
        detach=True,
        network=network,
        networking_config={network: client.api.create_endpoint_config(aliases=[hostname])},
        labels={LABEL: kind, **RUN_LABELS},
        environment=dict(environment),
        # An init as PID 1 reaps whatever the peer's processes leave behind.
        init=True,
        ports={f"{publish}/tcp": ("127.0.0.1", publish)} if publish is not None else {},
    )
    return container


def create_network(client: docker.DockerClient, name: str, *, kind: str) -> Network:
    """A bridge network for a peer, labelled as this run's (tests/janitor.py removes it if the
    run is killed before its teardown)."""
    network: Network = client.networks.create(name, driver="bridge", labels={LABEL: kind, **RUN_LABELS})
    return network


def wait_until_ready(
    container: Container,
    ready: Callable[[Container], bool],
    *,
    timeout: float,
    retry_on: tuple[type[Exception], ...] = (),
    error: type[PeerError] = PeerError,
) -> None:
    """Call `ready(container)` every 0.2 s until it returns True; raise `error` as soon as the
    container stops, or once `timeout` seconds pass. An exception of a `retry_on` type from `ready`
    counts as "not yet" (its text goes into the timeout's message), as does a Docker API error (the
    container stopping meanwhile: the next check tells).
    """
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        container.reload()
        if container.status not in ("created", "running"):
            code = container.attrs["State"]["ExitCode"]
            raise error(f"{_describe(container)} stopped ({container.status}, exit code {code})")
        try:
            if ready(container):
                return
        except (docker.errors.APIError, *retry_on) as not_yet:
            last = f" (last: {not_yet})"
        if time.monotonic() > deadline:
            raise error(f"{_describe(container)} not ready after {timeout:.0f} s{last}")
        time.sleep(0.2)


def read_file(
    container: Container, path: str, *, expect: str | None = None, error: type[PeerError] = PeerError
) -> str:
    """The text of `path` in the running container; raises `error` if it cannot be read or lacks `expect`."""
    exit_code, output = container.exec_run(["cat", path], stdout=True, stderr=False)
    text = output.decode(errors="replace") if isinstance(output, bytes) else ""
    if exit_code != 0 or (expect is not None and expect not in text):
        raise error(f"cannot read {path} from {container.name} (exit code {exit_code}): {text[:200]!r}")
    return text


@contextlib.contextmanager
def removed_on_failure(container: Container, *, error: type[PeerError] = PeerError) -> Iterator[None]:
    """On an exception in the block: remove the container and raise `error` with its last log lines."""
    try:
        yield
    except Exception as failure:
        try:
            logs = container.logs(tail=LOG_LINES).decode(errors="replace")
        except docker.errors.APIError as no_logs:
            logs = f"(none: {no_logs})"
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
        raise error(f"{failure}\n--- last log lines of {container.name} ---\n{logs}") from failure


def wait_for_ca(
    container: Container,
    ready: Callable[[Container], bool],
    *,
    ca_path: str,
    timeout: float,
    retry_on: tuple[type[Exception], ...] = (),
    error: type[PeerError] = PeerError,
) -> str:
    """wait_until_ready(), then return the PEM text of the CA certificate the peer made at `ca_path`
    (in the container). On any failure the container is removed and `error` raised with its last logs.
    """
    with removed_on_failure(container, error=error):
        wait_until_ready(container, ready, timeout=timeout, retry_on=retry_on, error=error)
        return read_file(container, ca_path, expect=PEM_END, error=error)


def stop(client: docker.DockerClient, name: str, *, kind: str, error: type[PeerError] = PeerError) -> None:
    """Force-remove container `name` (and its anonymous volumes) if it is labelled ``LABEL=kind``.

    Nothing happens if there is no such container; raises `error`, removing nothing, if the container
    is not a peer of that kind.
    """
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return
    if (container.labels or {}).get(LABEL) != kind:
        raise error(f"container {name} is not labelled {LABEL}={kind} (a test peer); not removing it")
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True, v=True)


def _describe(container: Container) -> str:
    return f"{(container.labels or {}).get(LABEL, 'test')} peer {container.name}"
