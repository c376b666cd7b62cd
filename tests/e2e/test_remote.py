"""The same stack on a server reached over SSH: everything lands there, nothing here."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from firewall.rules import chain_name
from tests.deployers import Deployer, DeployError
from tests.e2e.checkout import fresh_checkout
from tests.e2e.conftest import (
    TEST_IMAGES,
    USER_PASSWORD,
    Deployment,
    StackFactory,
    free_port,
    stack_factory,
    stack_objects,
)
from tests.e2e.hubclient import HubUser
from tests.e2e.names import resolve
from tests.e2e.test_backup import ops
from tests.e2e.test_isolation import probe_from
from tests.peers.common import create_network
from tests.peers.dockerhost import peer as dockerhost

DOMAIN = "remote.test"
NOTHING: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}
# The remote host's filter table in both backends (its engine uses one of them).
IPTABLES = "iptables-nft -S 2>/dev/null; iptables-legacy -S 2>/dev/null; true"


@pytest.fixture(scope="module")
def remote_host(engine: docker.DockerClient) -> Iterator[dockerhost.DockerHostPeer]:
    """A second Docker host with an SSH server (and its engine on TLS-verified TCP)."""
    network = create_network(engine, f"peer-remote-{secrets.token_hex(3)}", kind="docker-host")
    name = f"peer-remote-{secrets.token_hex(3)}"
    host = None
    try:
        images = [TEST_IMAGES["base"], TEST_IMAGES["proxy"], TEST_IMAGES["edge"], TEST_IMAGES["registry"]]
        host = dockerhost.start(engine, network.name, name, images)
        yield host
    finally:
        dockerhost.stop(engine, host, name)
        network.remove()


REGISTRY_USER = "teacher"
REGISTRY_PASSWORD = "registry-" + secrets.token_hex(8)


def remote_stack(
    make_stack: StackFactory,
    host: dockerhost.DockerHostPeer,
    *,
    name: str | None = None,
    docker_host: str | None = None,
    known_hosts: str | None = None,
    registry_port: int | None = None,
    shared: list[dict[str, object]] | None = None,
) -> Deployment:
    secret_config = {"auth.password": USER_PASSWORD, "ssh.privateKey": host.private_key}
    extra: dict[str, object] = {
        "dockerHost": docker_host or host.docker_host,
        "ssh": {"knownHosts": known_hosts or host.known_hosts},
        "tls": {"mode": "self-signed", "domain": DOMAIN},
        "publish": {"address": "0.0.0.0", "port": free_port(), "httpsPort": free_port()},
    }
    if registry_port is not None:
        # On the remote host's loopback: only its engine pushes and pulls there.
        extra["registry"] = {"enabled": True, "port": registry_port, "username": REGISTRY_USER}
        secret_config["registry.password"] = REGISTRY_PASSWORD
    if shared is not None:
        extra["shared"] = shared
    return make_stack(
        {"type": "shared-password", "allowAll": True}, secret_config=secret_config, extra=extra, name=name
    )


@pytest.fixture(scope="module")
def remote_stacks(
    remote_host: dockerhost.DockerHostPeer, deployer: Deployer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackFactory]:
    """Stacks on the remote host: destroyed before the host goes (they live on it)."""
    with stack_factory(deployer, tmp_path_factory.mktemp("remote-stacks")) as make:
        yield make


@pytest.fixture(scope="module")
def remote(
    remote_stacks: StackFactory,
    remote_host: dockerhost.DockerHostPeer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployment:
    """A stack on the remote host, with a registry there: its notebook image is pushed to it;
    and a shared folder seeded from this machine (copied over ssh)."""
    material = tmp_path_factory.mktemp("remote-material")
    (material / "readme.txt").write_text("copied over ssh\n")
    course: dict[str, object] = {
        "name": "course",
        "target": "/home/jovyan/course",
        "source": {"volume": {"seed": str(material)}},
    }
    return remote_stack(remote_stacks, remote_host, registry_port=free_port(), shared=[course])


def test_real_engine_a_stack_over_ssh_pushes_to_its_registry_there_serves_users_and_lives_only_there(
    remote: Deployment,
    remote_host: dockerhost.DockerHostPeer,
    engine: docker.DockerClient,
    tmp_path: Path,
) -> None:
    assert remote.url.startswith(f"https://{DOMAIN}:")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(remote.outputs["caCertificate"])
    with resolve({DOMAIN: remote_host.address}):
        katie = HubUser(remote.url, "katie").trusting(ca_file)
        katie.login(USER_PASSWORD)
        assert katie.logged_in()
        katie.start_server()
        assert katie.put_notebook("remote.ipynb", "print('on the server')").status_code == 201
        # The shared folder lives on the remote host, seeded from this machine.
        assert "copied over ssh" in katie.run_code("open('/home/jovyan/course/readme.txt').read()")
        # network.isolation holds on the remote host too: from katie's server the proxy's API
        # and cloud metadata are closed, the hub's API answers.
        closed, (api_status, _) = probe_from(
            katie, {"proxy api": (f"{remote.prefix}-proxy", 8001), "metadata": ("169.254.169.254", 80)}
        )
        assert "open" not in closed.values() and api_status == 200, closed

    there = dockerhost.inner_objects(engine, remote_host, remote.spec.name)
    prefix = remote.prefix
    assert {f"{prefix}-hub", f"{prefix}-proxy", f"{prefix}-edge", f"{prefix}-user-katie"} <= set(
        there["containers"]
    )
    # The registry answered on the remote host before the push (probed there, not from here),
    # holds the notebook image, and katie's server runs from it.
    registry = remote.outputs["registry"]
    image = remote.outputs["notebookImages"]["Default"]
    assert image.startswith(f"{registry}/{prefix}/notebook-default:")
    catalog = dockerhost.inner(
        engine,
        remote_host,
        f"docker exec {prefix}-registry wget -qO- --user {REGISTRY_USER} --password {REGISTRY_PASSWORD} "
        "http://127.0.0.1:5000/v2/_catalog",
    )
    assert f"{prefix}/notebook-default" in catalog
    assert (
        dockerhost.inner(
            engine, remote_host, f"docker inspect -f '{{{{.Config.Image}}}}' {prefix}-user-katie"
        ).strip()
        == image
    )
    assert {f"{prefix}-data", f"{prefix}-home-katie", f"{prefix}-shared-course"} <= set(there["volumes"])
    # network.isolation (the default): the users network and its firewall are there too.
    assert there["networks"] == [f"{prefix}-docker-api-net", f"{prefix}-net", f"{prefix}-users"]
    assert f"{prefix}-firewall" in there["containers"]
    assert f"-A DOCKER-USER -j {chain_name(prefix)}" in dockerhost.inner(engine, remote_host, IPTABLES)
    assert stack_objects(engine, remote.spec.name) == NOTHING, "nothing of the stack on the local engine"

    # A backup over ssh, with the client files the deploy wrote: katie's home comes along.
    saved = ops(remote, "backup", "--stack", remote.spec.name, "--out", str(tmp_path / "backups"))
    assert saved.returncode == 0, saved.stderr
    archive = Path(saved.stdout.strip().rsplit(" ", 1)[-1])
    manifest = json.loads((archive / "manifest.json").read_text())
    assert manifest["dockerHost"].startswith("ssh://")
    assert {"data", "home-katie", "shared-course"} <= {v["suffix"] for v in manifest["volumes"]}


def test_real_engine_destroy_from_a_fresh_clone_over_ssh_with_a_server_running_leaves_nothing(
    remote: Deployment,
    remote_host: dockerhost.DockerHostPeer,
    deployer: Deployer,
    engine: docker.DockerClient,
    tmp_path: Path,
) -> None:
    """The module's stack (its registry, shared folder and a user's server on the remote host)
    is destroyed here, from a fresh clone: the last of the tests that use it."""
    stack = remote
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(stack.outputs["caCertificate"])
    with resolve({DOMAIN: remote_host.address}):
        leo = HubUser(stack.url, "leo").trusting(ca_file)
        leo.login(USER_PASSWORD)
        leo.start_server()
    assert (
        f"{stack.prefix}-user-leo"
        in dockerhost.inner_objects(engine, remote_host, stack.spec.name)["containers"]
    )
    # `pulumi destroy` does not run the program, and the state names the stack's ssh files
    # (pinned host key, client key) relative to the checkout. In a fresh clone they are not
    # there yet: destroy fails, naming them, and the stack is untouched.
    clone = deployer.in_checkout(fresh_checkout(tmp_path / "clone"))
    with pytest.raises(DeployError) as failure:
        clone.destroy(stack.spec)
    assert f".jhub-docker/{stack.spec.name}/ssh/config" in str(failure.value)
    left = dockerhost.inner_objects(engine, remote_host, stack.spec.name)
    assert f"{stack.prefix}-hub" in left["containers"]
    # What the docs say to do in a new checkout: run the program once without refreshing
    # (it writes the files), then destroy from the state as usual.
    assert clone.preview(stack.spec, refresh=False) == {}
    clone.destroy(stack.spec)
    stack.destroyed = True
    assert dockerhost.inner_objects(engine, remote_host, stack.spec.name) == NOTHING
    # The firewall removed its rules on the way out.
    assert chain_name(stack.prefix) not in dockerhost.inner(engine, remote_host, IPTABLES)


def _failing_deploy(
    make_stack: StackFactory,
    host: dockerhost.DockerHostPeer,
    *,
    docker_host: str | None = None,
    known_hosts: str | None = None,
) -> tuple[str, str]:
    name = f"bad{secrets.token_hex(2)}"
    with pytest.raises(DeployError) as failure:
        remote_stack(make_stack, host, name=name, docker_host=docker_host, known_hosts=known_hosts)
    return name, str(failure.value)


def test_a_wrong_host_key_fails_before_anything_is_created(
    remote_stacks: StackFactory, remote_host: dockerhost.DockerHostPeer, engine: docker.DockerClient
) -> None:
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    line = other.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    name, message = _failing_deploy(remote_stacks, remote_host, known_hosts=f"{remote_host.address} {line}")
    assert "the host's key does not match ssh.knownHosts" in message
    assert dockerhost.inner_objects(engine, remote_host, name) == NOTHING
    assert stack_objects(engine, name) == NOTHING


def test_an_unknown_user_fails_with_its_own_message(
    remote_stacks: StackFactory, remote_host: dockerhost.DockerHostPeer, engine: docker.DockerClient
) -> None:
    name, message = _failing_deploy(
        remote_stacks, remote_host, docker_host=f"ssh://nobody@{remote_host.address}:22"
    )
    assert "the SSH user was refused" in message
    assert dockerhost.inner_objects(engine, remote_host, name) == NOTHING


def test_an_unreachable_host_fails_with_its_own_message(
    remote_stacks: StackFactory, remote_host: dockerhost.DockerHostPeer, engine: docker.DockerClient
) -> None:
    name, message = _failing_deploy(
        remote_stacks, remote_host, docker_host=f"ssh://deploy@{remote_host.address}:2222"
    )
    assert "the host cannot be reached" in message
    assert dockerhost.inner_objects(engine, remote_host, name) == NOTHING


# A stack over tcp:// with client TLS (dockerTls.*) is tests/e2e/test_swarm.py's: its stack
# reaches the manager that way, serves twelve users, and lives only on the nodes.
