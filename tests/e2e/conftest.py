"""Fixtures for the end-to-end tests: a real Docker engine, real stacks, real JupyterHub."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import yaml

from plan.naming import LABEL_STACK
from tests import grouping, janitor
from tests.deployers import (
    AutomationDeployer,
    Deployer,
    HarnessDeployer,
    StackSpec,
    extra_ca_file,
    pulumi_cli_available,
)
from tests.e2e import census
from tests.peers.swarm import peer as swarm_peer

# Local stand-ins for the upstream images, built by scripts/test-env.sh (nothing can be pulled
# here). They enter the program through the same options a site without internet access uses.
TEST_IMAGES = {
    "base": "local/python:3.11-bookworm",
    "proxy": "local/configurable-http-proxy:bookworm",
    "edge": "local/caddy:bookworm",
    "registry": "local/registry:bookworm",
}
USER_PASSWORD = "workshop-" + secrets.token_hex(6)
ADMIN_PASSWORD = "admin-" + secrets.token_hex(16)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield
    census.CENSUS.count(item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield
    census.CENSUS.count(item.nodeid)


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.fail(f"no Docker engine reachable ({exc}); run scripts/test-env.sh first")
    # One worker sweeps (pytest-xdist names them gw0, gw1, ...; alone, the run is its own):
    # two sweeping the same leftovers would race for each removal. The other worker's objects
    # are safe from it, labelled with a run that is alive.
    removed = janitor.sweep(client) if os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0" else []
    if removed:
        print(f"\nremoved what killed test runs left on the engine: {', '.join(removed)}")
    for image in TEST_IMAGES.values():
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"base image {image} is missing; run scripts/test-env.sh first")
    yield client
    # The images the run's stacks built, kept until now as every later stack's build cache.
    janitor.finish(client)


@pytest.fixture(scope="session", params=["harness", "automation"])
def deployer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Deployer:
    if request.param == "automation":
        if not pulumi_cli_available():
            pytest.skip(
                "pulumi CLI not on PATH: the Automation API variant cannot run here "
                "(the harness variant covers the scenario)"
            )
        return AutomationDeployer(tmp_path_factory.mktemp("pulumi-backend"))
    return HarnessDeployer(tmp_path_factory.mktemp("harness-state"))


def free_port() -> int:
    """A free TCP port on loopback, below the kernel's ephemeral range (32768 and up).

    Docker's embedded DNS listens inside every container on a user-defined network on random
    ephemeral ports; a peer that listens inside its container on the port it publishes (the OIDC
    provider, so its issuer URL is the same inside and out) must not draw from that range.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000 on 127.0.0.1")


@dataclass
class Deployment:
    spec: StackSpec
    deployer: Deployer
    outputs: dict[str, Any]
    destroyed: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    def configure(self, **settings: Any) -> None:
        """Change settings (keys without the namespace) in the stack file, as a person edits it."""
        for key, value in settings.items():
            self.config[f"jupyterhub-docker:{key}"] = value
        self.spec.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.spec.config_file.write_text(yaml.safe_dump({"config": self.config}))

    @property
    def url(self) -> str:
        return str(self.outputs["url"])

    @property
    def prefix(self) -> str:
        return f"jhub-{self.spec.name}"

    def up(self, *, expect_no_changes: bool = False) -> dict[str, Any]:
        self.outputs = self.deployer.up(self.spec, expect_no_changes=expect_no_changes)
        self.destroyed = False
        return self.outputs

    def destroy(self) -> None:
        self.deployer.destroy(self.spec)
        self.destroyed = True


StackFactory = Callable[..., Deployment]


@contextmanager
def stack_factory(deployer: Deployer, config_dir: Path) -> Iterator[StackFactory]:
    """Deploys stacks with the given auth (and extra config); destroys them all on exit."""
    made: list[Deployment] = []
    # The ledger lives on the local engine; remote stacks' objects go with their peer host.
    local = docker.from_env()

    def make(
        auth: dict[str, Any],
        *,
        secret_config: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        name: str | None = None,
        deploy: bool = True,
    ) -> Deployment:
        """`deploy=False`: only write the stack, for a test that runs the first `up` itself."""
        stack = name or f"t{len(made)}{secrets.token_hex(3)}"
        images: dict[str, Any] = dict(TEST_IMAGES)
        ca = extra_ca_file()
        if ca is not None:
            images["caCertificatesFile"] = str(ca)
        config = {
            "jupyterhub-docker:auth": auth,
            "jupyterhub-docker:images": images,
            "jupyterhub-docker:publish": {"address": "127.0.0.1", "port": free_port()},
            "jupyterhub-docker:spawner": {"memLimit": "1G", "startTimeout": 90},
        }
        for key, value in (extra or {}).items():
            config[f"jupyterhub-docker:{key}"] = value
        spec = StackSpec(
            name=stack, config_file=config_dir / f"Pulumi.{stack}.yaml", secrets=secret_config or {}
        )
        deployment = Deployment(spec=spec, deployer=deployer, outputs={})
        deployment.configure(**{key.removeprefix("jupyterhub-docker:"): v for key, v in config.items()})
        made.append(deployment)
        janitor.enter(local, deployment.prefix + "-")
        if deploy:
            deployment.up()
        return deployment

    try:
        yield make
    finally:
        errors = []
        for deployment in reversed(made):
            if not deployment.destroyed:
                try:
                    deployment.destroy()
                except Exception as exc:
                    errors.append(str(exc))
            if deployment.destroyed:
                janitor.leave(local, deployment.prefix + "-")
        if errors:
            pytest.fail("destroy at teardown failed:\n" + "\n".join(errors))


@pytest.fixture(scope="module")
def make_stack(
    engine: docker.DockerClient, deployer: Deployer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackFactory]:
    """Stacks on the local engine for one module's tests, destroyed when the module is done."""
    with stack_factory(deployer, tmp_path_factory.mktemp("stacks")) as make:
        yield make


@pytest.fixture
def make_test_stack(make_stack: StackFactory) -> Iterator[StackFactory]:
    """Stacks that one test uses alone: destroyed as soon as that test ends, not with its
    module, so a module whose every test deploys its own does not hold them all at once (with
    two workers, that was the run's peak: docs/explanation/tests.md)."""
    made: list[Deployment] = []

    def make(*args: Any, **kwargs: Any) -> Deployment:
        deployment = make_stack(*args, **kwargs)
        made.append(deployment)
        return deployment

    yield make
    # A destroy that fails here fails this test's teardown; the module's factory tries again.
    for deployment in reversed(made):
        if not deployment.destroyed:
            deployment.destroy()


# --- stacks several modules use --------------------------------------------------------------
# A stack lives only as long as the tests that use it. These few are shared by several modules,
# which the run orders next to one another (`pytest_collection_modifyitems`), and each is
# destroyed as soon as the last test that uses it is done (`pytest_runtest_teardown`), not at
# the session's end. Those made per Automation-API or harness variant are one per variant.
SHARED_STACKS = ("self_signed", "workshop", "native")
# Shared by every variant (no deployer of its own).
SHARED_RESOURCES = ("swarm_cluster",)
# Modules are ordered by which of them they use, in this order, so each spans a single stretch
# of the run; modules that use none come first.
SHARED_ORDER = [
    frozenset(),
    frozenset({"self_signed"}),
    frozenset({"self_signed", "workshop"}),
    frozenset({"workshop"}),
    frozenset({"workshop", "native"}),
    frozenset({"native"}),
    frozenset({"swarm_cluster"}),
]
SHARED_FIXTURES = frozenset(SHARED_STACKS) | frozenset(SHARED_RESOURCES)
_RELEASES: dict[tuple[str, str], Callable[[], None]] = {}
_LAST_USER: dict[tuple[str, str], pytest.Item] = {}


def _variant(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get("deployer", "")) if callspec is not None else ""


def _shared_key(name: str, variant: str) -> tuple[str, str]:
    return (name, variant if name in SHARED_STACKS else "")


def _module(item: pytest.Item) -> str:
    return grouping.module_of(item.nodeid)


def _uses(items: list[pytest.Item]) -> dict[str, set[str]]:
    """Each module's shared fixtures, over all its tests."""
    uses: dict[str, set[str]] = {}
    for item in items:
        uses.setdefault(_module(item), set()).update(
            SHARED_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        )
    return uses


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the run, once every other plugin is done (pytest's own ordering by fixture
    parameters among them): the groups of tests/grouping.py longest first, every Harness variant
    before any Automation one (a worker switching the session's deployer tears down what the
    other variant deployed), and the modules sharing a stack one after the other, so each
    shared stack spans a single stretch of the run; note each shared stack's last user. Within a
    module, and within each variant, the order stays as collected."""
    uses = _uses(items)
    problems = grouping.check(uses, set(SHARED_STACKS))
    if problems:
        raise pytest.UsageError("tests/grouping.py is out of date:\n  " + "\n  ".join(problems))
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        first.setdefault(_module(item), index)

    def rank(module: str) -> int:
        group = frozenset(uses[module])
        return SHARED_ORDER.index(group) if group in SHARED_ORDER else len(SHARED_ORDER)

    position = {id(item): index for index, item in enumerate(items)}
    items.sort(
        key=lambda item: (
            _variant(item) == "automation",
            grouping.longest_first(item.nodeid),
            rank(_module(item)),
            first[_module(item)],
            position[id(item)],
        )
    )
    _LAST_USER.clear()
    for item in items:
        for name in SHARED_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            _LAST_USER[_shared_key(name, _variant(item))] = item


def release_after_last_use(request: pytest.FixtureRequest, release: Callable[[], None]) -> None:
    """Have `release` run once the last test using this shared fixture is done."""
    variant = ""
    if request.fixturename in SHARED_STACKS:
        deployer = request.getfixturevalue("deployer")
        variant = "automation" if isinstance(deployer, AutomationDeployer) else "harness"
    _RELEASES[_shared_key(str(request.fixturename), variant)] = release


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    for key, last in list(_LAST_USER.items()):
        if last is item and key in _RELEASES:
            _RELEASES.pop(key)()


@pytest.fixture(scope="session")
def shared_stacks(
    engine: docker.DockerClient, deployer: Deployer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackFactory]:
    """The factory of the stacks several modules use (whatever is left at the session's end,
    after a failure say, is destroyed then)."""
    with stack_factory(deployer, tmp_path_factory.mktemp("shared-stacks")) as make:
        yield make


def _shared(request: pytest.FixtureRequest, stack: Deployment) -> Deployment:
    release_after_last_use(request, lambda: None if stack.destroyed else stack.destroy())
    return stack


WELCOME = "Welcome to the workshop: the password is on the whiteboard"


@pytest.fixture(scope="session")
def workshop(shared_stacks: StackFactory, request: pytest.FixtureRequest) -> Deployment:
    """A workshop stack: one shared password, one admin with the admin password, and a greeting
    on the login page through hub.extraConfig (a JupyterHub setting the config does not model)."""
    return _shared(
        request,
        shared_stacks(
            {"type": "shared-password", "admins": ["teacher"], "allowAll": True},
            secret_config={"auth.password": USER_PASSWORD, "auth.adminPassword": ADMIN_PASSWORD},
            extra={
                "hub": {"extraConfig": {"JupyterHub": {"template_vars": {"announcement_login": WELCOME}}}}
            },
        ),
    )


@pytest.fixture(scope="session")
def native(shared_stacks: StackFactory, request: pytest.FixtureRequest) -> Deployment:
    """A small team's stack: people sign up, the admin approves them."""
    return _shared(request, _native(shared_stacks))


def _native(make_stack: StackFactory) -> Deployment:
    return make_stack(
        {
            "type": "native",
            "admins": ["boss"],
            "allowAll": True,
            # A short lockout, so a test can see it expire.
            "allowedFailedLogins": 3,
            "lockoutSeconds": 5,
        }
    )


TLS_SHARED = {"type": "shared-password", "allowAll": True}


def tls_stack(
    make_stack: StackFactory, tls: dict[str, object], secrets: dict[str, str] | None = None
) -> Deployment:
    """A shared-password stack behind the TLS edge, its HTTP and HTTPS ports published."""
    return make_stack(
        TLS_SHARED,
        secret_config={"auth.password": USER_PASSWORD, **(secrets or {})},
        extra={
            "tls": tls,
            "publish": {"address": "127.0.0.1", "port": free_port(), "httpsPort": free_port()},
        },
    )


@pytest.fixture(scope="session")
def self_signed(
    shared_stacks: StackFactory, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Deployment, Path]:
    """A stack with a self-signed certificate for hub.test (resolved to 127.0.0.1 by the tests,
    see names.py), and a file with its CA, the `caCertificate` output. Shared by the TLS tests
    and the browser test, so the run deploys it once."""
    stack = _shared(request, tls_stack(shared_stacks, {"mode": "self-signed", "domain": "hub.test"}))
    ca_file = tmp_path_factory.mktemp("self-signed") / "ca.pem"
    ca_file.write_text(stack.outputs["caCertificate"])
    return stack, ca_file


def stack_objects(engine: docker.DockerClient, stack: str) -> dict[str, list[str]]:
    """Everything on the engine that carries the stack's label or name."""
    prefix = f"jhub-{stack}-"
    return {
        "containers": sorted(
            name
            for name, labels, _ in janitor.listed_containers(engine)
            if labels.get(LABEL_STACK) == stack or name.startswith(prefix)
        ),
        "volumes": sorted(
            v.name
            for v in engine.volumes.list()
            if (v.attrs.get("Labels") or {}).get(LABEL_STACK) == stack or v.name.startswith(prefix)
        ),
        "networks": sorted(n.name for n in engine.networks.list() if n.name.startswith(prefix)),
    }


def hub_up(url: str) -> bool:
    try:
        return requests.get(url + "hub/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def connect_when_created(
    engine: docker.DockerClient, network: str, container: str, alias: str
) -> threading.Thread:
    """Join a peer `container` to a stack `network` as soon as the deploy creates it: the hub reads
    OIDC discovery when it starts, and the edge orders its certificate when it starts."""

    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            found = engine.networks.list(names=[network])
            if any(n.name == network for n in found):
                found[0].connect(container, aliases=[alias])
                return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="session")
def swarm_cluster(
    engine: docker.DockerClient, request: pytest.FixtureRequest
) -> Iterator[tuple[swarm_peer.Swarm, int]]:
    """One three-node swarm for every Swarm module (test_swarm*.py, next to one another): each
    start loads the images into three nested engines, the longest part of its setup. Every node
    trusts a plain-HTTP registry at <node1>:<port> (the stack's, in test_swarm.py)."""
    registry_port = free_port()
    images = [TEST_IMAGES["base"], TEST_IMAGES["proxy"], TEST_IMAGES["edge"], TEST_IMAGES["registry"]]
    with contextlib.ExitStack() as stack:
        made = stack.enter_context(swarm_peer.swarm(engine, images, registry_port=registry_port))
        # Stopped after the last Swarm test, not at the session's end.
        release_after_last_use(request, stack.close)
        print(f"\nswarm of 3 nodes ready, the test images on each, in {made.setup_seconds:.1f} s")
        yield made, registry_port
