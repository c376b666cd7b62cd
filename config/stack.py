"""The whole stack configuration: validated, frozen pydantic models.

Everything a stack can set is declared here, under the project's config namespace
(`jupyterhub-docker:<key>` in `Pulumi.<stack>.yaml`). Validation runs before any resource is
registered, and every problem is reported with the config key, the offending value and what
would be accepted, so a bad `pulumi preview` never creates anything.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import posixpath
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pulumi import RunError
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from config.auth import AUTH_TYPES, AuthConfig, Username
from config.base import IDENTIFIER, ConfigModel
from config.branding import BrandingConfig
from config.network import NetworkConfig
from config.roles import RoleConfig, check_roles
from config.servers import (
    CullerConfig,
    NamedServersConfig,
    ProfileConfig,
    WorkshopConfig,
    check_memory,
    check_profiles,
    guarantee_problem,
    memory_guarantee,
)
from config.shared import SharedFolderConfig, check_shared
from config.swarm import swarm_problems
from hub.system_paths import image_path_problem
from plan.manual_certificate import check_manual

NAMESPACE = "jupyterhub-docker"
T = TypeVar("T")


class ConfigError(RunError):
    """The stack config is invalid; the message lists every problem, one per line, each naming
    its config key. Raise one with `config_problem(key, message)`; the plan step gathers them
    (`Problems`) so a person reads every problem of a config at once.

    A `pulumi.RunError`: the Python language host prints only the message of a RunError, and a
    traceback for any other exception (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec),
    so a person sees the problem, not the program's internals.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


def config_problem(key: str, message: str) -> ConfigError:
    """`key: message`, as the one problem of a ConfigError."""
    return ConfigError([f"{key}: {message}"])


class Problems:
    """Gathers the problems of several checks, to report them together."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, action: Callable[[], T]) -> T | None:
        try:
            return action()
        except ConfigError as error:
            self.found.extend(error.problems)
            return None

    def raise_if_any(self) -> None:
        if self.found:
            raise ConfigError(self.found)


_Model = ConfigModel


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
ACME_DIRECTORIES = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


class TlsConfig(_Model):
    """HTTPS at an edge proxy (Caddy) in front of the proxy, or plain HTTP (`none`)."""

    mode: Literal["none", "self-signed", "manual", "letsencrypt"] = "none"
    """`none`, `self-signed`, `manual` or `letsencrypt`; see [TLS](../how-to/tls.md)."""
    # Publishing plain HTTP beyond loopback is only sane behind another TLS terminator;
    # the stack has to say so.
    behind_tls_terminator: bool = False
    """Required to publish plain HTTP on a non-loopback address."""
    domain: str | None = None
    """The hub's DNS name, required with TLS."""
    # manual: the certificate chain (leaf first) and its key, both Pulumi secrets.
    certificate: SecretStr | None = None
    """manual: the certificate chain, leaf first."""
    key: SecretStr | None = None
    """manual: the certificate's private key."""
    # letsencrypt: the ACME account's email and directory (production, staging or a URL), and
    # for a private ACME CA the PEM file of the root its directory's HTTPS certificate chains to.
    email: str | None = None
    """letsencrypt: the ACME account's email."""
    acme_directory: str = "production"
    """letsencrypt: the ACME directory: `production`, `staging` or a URL."""
    acme_ca_root_file: str | None = None
    """letsencrypt with a private ACME CA: the PEM file of the root its directory's HTTPS certificate chains
    to."""

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @property
    def acme_directory_url(self) -> str:
        return ACME_DIRECTORIES.get(self.acme_directory, self.acme_directory)

    @model_validator(mode="after")
    def _mode_settings(self) -> TlsConfig:
        if self.mode == "none":
            for key in ("domain", "certificate", "key", "email", "acme_ca_root_file"):
                if getattr(self, key) is not None:
                    raise ValueError(f"tls.{to_camel(key)} is only used with a tls.mode other than none")
            return self
        if self.behind_tls_terminator:
            raise ValueError("tls.behindTlsTerminator only applies to tls.mode: none")
        if self.domain is None:
            raise ValueError(f"tls.domain: missing; tls.mode {self.mode} needs the hub's DNS name")
        if not _HOSTNAME.match(self.domain):
            raise ValueError(f"tls.domain: {self.domain!r} is not a DNS name such as hub.example.org")
        if self.mode == "manual":
            if self.certificate is None or self.key is None:
                raise ValueError(
                    "tls.mode manual needs tls.certificate and tls.key: run `pulumi config set --secret "
                    "--path tls.certificate < chain.pem` and the same for tls.key"
                )
            problems = check_manual(
                self.certificate.get_secret_value(),
                self.key.get_secret_value(),
                self.domain,
                datetime.datetime.now(datetime.UTC),
            )
            if problems:
                raise ValueError("; ".join(problems))
        elif self.certificate is not None or self.key is not None:
            raise ValueError("tls.certificate and tls.key are only used with tls.mode: manual")
        if self.mode == "letsencrypt":
            if not self.email or "@" not in self.email:
                raise ValueError("tls.email: an email address is required for the ACME account")
            url = self.acme_directory_url
            if not url.startswith("https://"):
                raise ValueError(
                    f"tls.acmeDirectory: {self.acme_directory!r} is not production, staging "
                    "or an https:// URL"
                )
        elif self.email is not None or self.acme_ca_root_file is not None:
            raise ValueError("tls.email and tls.acmeCaRootFile are only used with tls.mode: letsencrypt")
        return self


class PublishConfig(_Model):
    """Where the public ports are published on the Docker host: the proxy's HTTP port without
    TLS (default 8000), the edge's HTTP (default 80) and HTTPS ports with it."""

    address: str = "127.0.0.1"
    """Where the proxy (or, with TLS, the edge's HTTP redirect) is published."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Its port. Default: `8000` (`80` with TLS)."""
    https_port: int = Field(default=443, ge=1, le=65535)
    """The edge's HTTPS port (TLS only)."""

    def http_port(self, tls: TlsConfig) -> int:
        if self.port is not None:
            return self.port
        return 80 if tls.enabled else 8000

    @field_validator("address")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("must be an IP address such as 127.0.0.1 or 0.0.0.0") from None
        return value

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback


class ImagesConfig(_Model):
    """Upstream images and the knobs every image build gets."""

    # FROM of the hub image and of the default notebook image: any image with python3 + venv.
    base: str = "python:3.12-slim-bookworm"
    """FROM of the hub and default notebook images (any image with `python3` + `venv`)."""
    proxy: str = "quay.io/jupyterhub/configurable-http-proxy:5.3.0"
    """The proxy image (needs `/bin/sh` and `configurable-http-proxy` on PATH)."""
    # The TLS edge (any Caddy 2.6+ image with `caddy` on PATH).
    edge: str = "caddy:2.8.4"
    """The TLS edge image (Caddy 2.6 or newer, `caddy` on PATH)."""
    # The local registry (Distribution 2.x, `registry serve <config>`).
    registry: str = "registry:2.8.3"
    """The registry image (`registry serve <config>`)."""
    # Prefixed to every default upstream image (base, proxy, edge, registry), e.g.
    # "mirror.example.org/", for sites that mirror them. An image set explicitly is used as
    # written: that is the per-image override.
    mirror: str = ""
    """Prefixed to every default upstream image, e.g. `mirror.example.org/`."""

    def resolved(self, field: str) -> str:
        value: str = getattr(self, field)
        return value if field in self.model_fields_set else self.mirror + value

    pip_index_url: str | None = None
    """A PyPI mirror for every image build."""
    # A PEM file of extra CA certificates trusted by pip during builds (TLS-intercepting
    # proxies, private mirrors). Relative paths are relative to the project directory.
    ca_certificates_file: str | None = None
    """PEM file of extra CA certificates trusted during builds (TLS-intercepting proxies)."""


class BuildConfig(_Model):
    context: str
    """The build context, relative to the project directory."""
    dockerfile: str = "Dockerfile"
    """The Dockerfile in it."""
    args: dict[str, str] = Field(default_factory=dict)
    """Build args; `JUPYTERHUB_VERSION` is the hub's."""


class NotebookImageConfig(_Model):
    """One single-user image users can choose: pulled, or built from a context."""

    name: str = Field(min_length=1, max_length=80)  # what users see in the spawn form
    """What users see in the spawn form."""
    image: str | None = None
    """An image to pull (or `build` instead)."""
    build: BuildConfig | None = None

    @model_validator(mode="after")
    def _one_source(self) -> NotebookImageConfig:
        if (self.image is None) == (self.build is None):
            raise ValueError(f"image {self.name!r}: set exactly one of image (to pull) or build")
        return self


class NotebookConfig(_Model):
    """The single-user images: one (`image` or `build`, the default: build `notebook/`), or a
    list users choose from at spawn time (`images`, with a `default`)."""

    image: str | None = None
    """One single-user image to pull instead of building one."""
    build: BuildConfig | None = None
    """`context`, `dockerfile`, `args` of the one single-user image build."""
    images: tuple[NotebookImageConfig, ...] = ()
    """Several images users choose from at spawn: `name`, and `image` or `build` each."""
    default: str | None = None
    """The `name` of the image preselected in the spawn form. Default: the first."""

    @model_validator(mode="after")
    def _one_way(self) -> NotebookConfig:
        if self.image is not None and self.build is not None:
            raise ValueError("set either notebook.image (to pull) or notebook.build, not both")
        if self.images and (self.image is not None or self.build is not None):
            raise ValueError("set notebook.images, or the single notebook.image / notebook.build, not both")
        names = [entry.name for entry in self.images]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"notebook.images: duplicate names {duplicates}; each image needs its own name")
        if self.default is not None and self.default not in names:
            raise ValueError(
                f"notebook.default: {self.default!r} is not one of the image names: "
                f"{', '.join(names) or '(none)'}"
            )
        return self

    @property
    def effective_images(self) -> tuple[NotebookImageConfig, ...]:
        if self.images:
            return self.images
        if self.image is not None:
            return (NotebookImageConfig(name="Default", image=self.image),)
        return (NotebookImageConfig(name="Default", build=self.build or BuildConfig(context="notebook")),)

    @property
    def default_image(self) -> NotebookImageConfig:
        images = self.effective_images
        return next((i for i in images if i.name == self.default), images[0])


class RegistryConfig(_Model):
    """A local image registry on the Docker host: built notebook images are pushed to it and
    spawned from it. With username and password, it requires htpasswd authentication."""

    enabled: bool = False
    """Run a local registry; built images are pushed to it and spawned from it."""
    address: str = "127.0.0.1"
    """Where the registry is published."""
    port: int = Field(default=5000, ge=1, le=65535)
    """Its port."""
    username: str | None = None
    """The registry's htpasswd user."""
    password: SecretStr | None = None
    """Its password."""

    @model_validator(mode="after")
    def _credentials_together(self) -> RegistryConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError(
                "registry.username and registry.password go together "
                "(`pulumi config set --secret --path registry.password ...`)"
            )
        if self.username is not None and ":" in self.username:
            raise ValueError("registry.username: must not contain ':'")
        return self


# What a server of the default image is guaranteed unless the stack says otherwise: about three
# times the working set measured for a server with a busy Python kernel (docs/how-to/classes.md, "How many
# servers run at once"), so a class of 30 fits a 24 GiB host.
DEFAULT_MEM_GUARANTEE = "512M"


class SpawnerConfig(_Model):
    # The cap: a server using more is killed by the kernel (its kernel restarts).
    mem_limit: str = "2G"
    """Memory limit per user server (the cap: a kernel using more is killed)."""
    # What each server is guaranteed: its memory reservation on the Docker host (the kernel
    # reclaims other memory first), and what the hub admits servers by (activeServerLimit).
    # Absent: DEFAULT_MEM_GUARANTEE, or memLimit if that is smaller.
    mem_guarantee: str | None = None
    """Memory each server is guaranteed (reserved on the Docker host) and admitted by; see [How many servers
    run at once](../how-to/classes.md). Default: `512M` (or `memLimit` if smaller)."""
    cpu_limit: float = Field(default=1.0, gt=0, le=256)
    """CPU limit per user server, in CPUs."""
    start_timeout: int = Field(default=120, ge=10, le=3600)
    """Seconds a user server may take to start."""
    home_dir: str = "/home/jovyan"
    """Where the user's home volume is mounted (not `/` nor a system directory of the image)."""
    # None: derived by the hub at start from the Docker host's CPUs (hub/servers.py).
    concurrent_spawn_limit: int | None = Field(default=None, ge=1, le=1000)
    """Spawns the hub accepts at once; more are refused ("Too many users trying to log in"). Default: 25 per
    CPU of the host, at least 50."""
    # Servers running at once; default: as many as 90 % of the host's memory holds at the
    # largest memory guarantee of the profiles (read by the hub at start); 0: no limit.
    active_server_limit: int | None = Field(default=None, ge=0)
    """Servers running at once; `0`: no limit. Default: 90 % of the host's memory / the largest
    `memGuarantee`."""
    # Processes (and threads) a server may run at once: a fork bomb stops there, not at the
    # host's limit. 0: no limit.
    pids_limit: int = Field(default=1024, ge=0)
    """Processes and threads per user server (a fork bomb stops there); `0`: no limit."""
    # The image's filesystem read-only; the home volume and a tmpfs /tmp stay writable.
    read_only_root_filesystem: bool = False
    """User servers' image filesystem read-only; home, shared folders and a tmpfs `/tmp` stay writable."""
    # For images that start as root and switch to the user themselves (docker-stacks with
    # NB_UID/CHOWN_HOME): run as root with the few capabilities that switch needs.
    starts_as_root: bool = False
    """The notebook image starts as root and switches user itself (docker-stacks' `NB_UID`, `CHOWN_HOME`);
    see [Security model](../explanation/security-model.md)."""

    @field_validator("mem_limit", "mem_guarantee")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        check_memory(value)
        return value

    @model_validator(mode="after")
    def _guarantee_within_limit(self) -> SpawnerConfig:
        problem = guarantee_problem(
            "spawner.memGuarantee", self.mem_guarantee, "spawner.memLimit", self.mem_limit
        )
        if problem:
            raise ValueError(problem)
        return self

    @property
    def effective_mem_guarantee(self) -> str:
        return memory_guarantee(self.mem_guarantee, DEFAULT_MEM_GUARANTEE, self.mem_limit)

    @field_validator("home_dir")
    @classmethod
    def _home(cls, value: str) -> str:
        normal = posixpath.normpath(value)
        if not posixpath.isabs(value) or normal != (value.rstrip("/") or "/"):
            raise ValueError("must be a normalized absolute path such as /home/jovyan")
        problem = image_path_problem(normal)
        if problem is not None:
            raise ValueError(f"{problem}; use the image user's home, e.g. /home/jovyan")
        return normal


_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
# The classes that configure users' servers (hub/apply.py picks one of these, the boot queue
# wraps it: hub/spawners/throughput.py), and the traits of theirs that decide what a server's container
# is. The Docker API proxy allows exactly the containers the modelled settings describe
# (hub/api_proxy/policy_document.py), so such a trait set here would only make every spawn fail with a
# 403; each is refused at preview with the setting to use instead.
_SPAWNER_CLASSES = {"Spawner", "DockerSpawner", "SwarmSpawner", "StackSpawner", "StackSwarmSpawner"}
_SPAWNER_CLASSES |= {"QueuedDockerSpawner", "QueuedStackSpawner"}
_CONTAINER_TRAITS = {
    "image": "notebook.image or notebook.images",
    "allowed_images": "notebook.images",
    "mem_limit": "spawner.memLimit (or a profile's memLimit)",
    "cpu_limit": "spawner.cpuLimit (or a profile's cpuLimit)",
    "mem_guarantee": "spawner.memLimit",
    "cpu_guarantee": "spawner.cpuLimit",
    "volumes": "shared",
    "read_only_volumes": "shared (readOnly: true)",
    "mounts": "shared",
    "extra_host_config": "spawner.pidsLimit, spawner.readOnlyRootFilesystem, profiles[].gpus",
    "extra_create_kwargs": "spawner.startsAsRoot",
    "network_name": "network.isolation",
    "use_internal_ip": "nothing: servers are reached on the stack's network",
    "prefix": "nothing: names follow the stack",
    "name_template": "nothing: names follow the stack",
    "remove": "nothing: containers are disposable, homes persist",
    "links": "nothing: servers reach the hub by name",
    "host_ip": "nothing: servers are never published",
    "post_start_cmd": "the notebook image's own start-up (exec is refused)",
    "extra_container_spec": "profiles (under Swarm)",
    "extra_task_spec": "profiles (under Swarm)",
    "extra_resources_spec": "spawner.memLimit, spawner.cpuLimit",
    "extra_placement_spec": "profiles[].placement",
    "extra_endpoint_spec": "nothing: services are reached by DNS round robin",
}


class HubConfig(_Model):
    """JupyterHub itself: what the rest of the stack config does not model."""

    # {ClassName: {trait: value}}, e.g. {JupyterHub: {concurrent_spawn_limit: 10}}: applied last,
    # exactly as written (hub/apply.py). Values are JSON.
    extra_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Anything of JupyterHub this table does not model: `{ClassName: {trait: value}}`, see below."""

    @field_validator("extra_config")
    @classmethod
    def _traits(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for class_name, traits in value.items():
            if not _CLASS_NAME.match(class_name):
                raise ValueError(
                    f"{class_name!r} is not a configurable class name such as JupyterHub or "
                    "DockerSpawner (they start with an upper-case letter)"
                )
            for trait in traits:
                if not IDENTIFIER.match(trait):
                    raise ValueError(
                        f"{class_name}.{trait!r} is not a trait name such as concurrent_spawn_limit"
                    )
                if class_name in _SPAWNER_CLASSES and trait in _CONTAINER_TRAITS:
                    raise ValueError(
                        f"{class_name}.{trait} decides what users' containers are, and the stack's "
                        "Docker API proxy refuses any container the stack config does not describe "
                        f"(every spawn would fail); use {_CONTAINER_TRAITS[trait]}"
                    )
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError("values must be JSON (strings, numbers, booleans, lists, maps)") from None
        return value


class SshConfig(_Model):
    """How to reach an ssh:// Docker host securely."""

    # The host's key, pinned: one or more known_hosts lines ("host ssh-ed25519 AAAA...").
    known_hosts: str | None = None
    """The host's known_hosts line(s): its key is pinned. Required for an `ssh://` host."""
    # The client key (a Pulumi secret); without it, the running ssh-agent's keys are used.
    private_key: SecretStr | None = None
    """The SSH client key; without it the running ssh-agent is used."""
    # Never the default: disables host key checking (first contact over a trusted network).
    insecure_skip_host_key_check: bool = False
    """Disables host key checking; never the default."""

    @model_validator(mode="after")
    def _lines(self) -> SshConfig:
        if self.known_hosts is not None:
            for line in self.known_hosts.strip().splitlines():
                if len(line.split()) < 3:
                    raise ValueError(
                        f"ssh.knownHosts: {line!r} is not a known_hosts line (host keytype key); "
                        "get it with `ssh-keyscan -t ed25519 <host>` and check it out of band"
                    )
        return self


class DockerTlsConfig(_Model):
    """Client TLS for a tcp:// Docker host (the engine's --tlsverify setup)."""

    ca: SecretStr
    """Client TLS for a `tcp://` engine: the CA that signed the engine's certificate."""
    cert: SecretStr
    """The client's certificate."""
    key: SecretStr
    """The client's private key."""


_SSH_HOST = re.compile(r"^ssh://(?P<user>[^@/:]+)@(?P<host>[^@/:]+)(:(?P<port>\d+))?$")
_TCP_HOST = re.compile(r"^tcp://(?P<host>[^@/:]+):(?P<port>\d+)$")


class StackConfig(_Model):
    docker_host: str = "unix:///var/run/docker.sock"
    """The Docker engine: `unix:///path`, `ssh://user@host[:port]` or `tcp://host:port`."""
    # "swarm": dockerHost is a Swarm manager and users' servers are services spread over the
    # swarm's nodes (docs/how-to/swarm.md); never guessed from the engine.
    orchestrator: Literal["docker", "swarm"] = "docker"
    """`swarm`: `dockerHost` is a Swarm manager and users' servers are services spread over the swarm's
    nodes; see [Docker Swarm](../how-to/swarm.md)."""
    # On an ssh:// or tcp:// host: the engine's socket there, mounted into the hub for DockerSpawner.
    docker_socket: str = "/var/run/docker.sock"
    """On a remote host: the engine's socket there (mounted into the Docker API proxy, never into the hub)."""
    ssh: SshConfig = SshConfig()
    docker_tls: DockerTlsConfig | None = None
    # Keep the hub database and users' home volumes when the stack is destroyed (production).
    keep_data: bool = False
    """Keep the hub database and users' home volumes when the stack is destroyed."""
    # A throwaway demo stack: the only kind on which anonymous login is allowed.
    demo: bool = False
    """Marks a throwaway demo stack (required for `auth.type: anonymous`)."""
    auth: AuthConfig
    """How users log in: one table per `auth.type` below."""
    tls: TlsConfig = TlsConfig()
    publish: PublishConfig = PublishConfig()
    images: ImagesConfig = ImagesConfig()
    notebook: NotebookConfig = NotebookConfig()
    registry: RegistryConfig = RegistryConfig()
    spawner: SpawnerConfig = SpawnerConfig()
    hub: HubConfig = HubConfig()
    shared: list[SharedFolderConfig] = Field(default_factory=list)
    """Folders mounted into every user's server beside the home; see [Shared
    folders](../how-to/shared-folders.md)."""
    culler: CullerConfig = CullerConfig()
    profiles: list[ProfileConfig] = Field(default_factory=list)
    """The spawn form's choices: image, limits, GPUs, environment, who may pick each."""
    named_servers: NamedServersConfig = NamedServersConfig()
    workshop: WorkshopConfig = WorkshopConfig()
    network: NetworkConfig = NetworkConfig()
    groups: dict[str, tuple[Username, ...]] = Field(default_factory=dict)
    """Groups and their members (usernames), e.g. `class-a: [alice, bob]`: what roles' `!group=`
    filters and shared folders' `writers.groups` name. The config is the whole membership."""
    roles: list[RoleConfig] = Field(default_factory=list)
    """Roles beyond the defaults, e.g. a teaching assistant who may open one group's servers; see
    [Groups and roles](../how-to/classes.md#groups-and-roles)."""
    branding: BrandingConfig = BrandingConfig()
    """The hub's logo, login text, banner and templates; see [Branding](../how-to/branding.md)."""

    @field_validator("docker_socket")
    @classmethod
    def _socket_path(cls, value: str) -> str:
        if not posixpath.isabs(value) or posixpath.normpath(value) == "/":
            raise ValueError("must be the absolute path of the engine's socket, e.g. /var/run/docker.sock")
        return posixpath.normpath(value)

    @field_validator("docker_host")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value.startswith("unix:///") or _SSH_HOST.match(value) or _TCP_HOST.match(value):
            return value
        raise ValueError("must be unix:///path/to/docker.sock, ssh://user@host[:port] or tcp://host:port")

    @property
    def ssh_target(self) -> tuple[str, str, int] | None:
        """(user, host, port) of an ssh:// Docker host."""
        match = _SSH_HOST.match(self.docker_host)
        return None if match is None else (match["user"], match["host"], int(match["port"] or 22))

    @property
    def engine_socket(self) -> str:
        """The Docker engine's socket on the Docker host: dockerHost's own path on a unix://
        host, dockerSocket on an ssh:// or tcp:// one."""
        if self.docker_host.startswith("unix://"):
            return self.docker_host.removeprefix("unix://")
        return self.docker_socket

    @property
    def remote_address(self) -> str | None:
        """The Docker host's address when it is not this machine."""
        match = _SSH_HOST.match(self.docker_host) or _TCP_HOST.match(self.docker_host)
        return None if match is None else match["host"]

    @model_validator(mode="after")
    def _connection_settings(self) -> StackConfig:
        if self.ssh_target is not None:
            if self.ssh.known_hosts is None and not self.ssh.insecure_skip_host_key_check:
                raise ValueError(
                    "ssh.knownHosts: missing; pin the host key of the ssh:// Docker host with its "
                    "known_hosts line (`ssh-keyscan -t ed25519 <host>`, checked out of band)"
                )
        elif self.ssh != SshConfig():
            raise ValueError("ssh.* settings only apply to an ssh:// dockerHost")
        if self.docker_host.startswith("tcp://") and self.docker_tls is None:
            raise ValueError(
                "dockerTls: missing; a tcp:// dockerHost needs client TLS: dockerTls.ca, dockerTls.cert and "
                "dockerTls.key (`pulumi config set --secret --path dockerTls.key < key.pem`)"
            )
        if not self.docker_host.startswith("tcp://") and self.docker_tls is not None:
            raise ValueError("dockerTls.* only applies to a tcp:// dockerHost")
        return self

    @model_validator(mode="after")
    def _shared_folders(self) -> StackConfig:
        problems = check_shared(self.shared, self.spawner.home_dir, self.engine_socket)
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _groups_and_roles(self) -> StackConfig:
        problems = check_roles(self.groups, self.roles, self.auth.type)
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _profiles(self) -> StackConfig:
        problems = check_profiles(self.profiles, [image.name for image in self.notebook.effective_images])
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _profile_guarantees(self) -> StackConfig:
        # Here, not on the profile: a profile without its own memLimit has the spawner's.
        for index, profile in enumerate(self.profiles):
            problem = guarantee_problem(
                f"profiles[{index}].memGuarantee",
                profile.mem_guarantee,
                f"profiles[{index}].memLimit" if profile.mem_limit else "spawner.memLimit",
                profile.mem_limit or self.spawner.mem_limit,
            )
            if problem:
                raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _swarm(self) -> StackConfig:
        problems = swarm_problems(self)
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _prestart_has_users(self) -> StackConfig:
        if self.workshop.prestart and not self.auth.lists_users:
            raise ValueError(
                "workshop.prestart starts the servers of the users the stack lists: set "
                "auth.allowedUsers or auth.allowedUsersFile, or turn workshop.prestart off"
            )
        return self

    @model_validator(mode="after")
    def _anonymous_only_on_demos(self) -> StackConfig:
        if self.auth.demo_only and not self.demo:
            raise ValueError(
                "auth.type anonymous gives a server to anyone with the link: it is only allowed on a "
                "stack marked demo: true (set jupyterhub-docker:demo to true if this stack is a demo)"
            )
        return self

    def published_ports(self) -> list[tuple[str, str, int]]:
        """(config key, address, port) of every port the stack publishes on the Docker host."""
        publish = self.publish
        ports = [("publish.port", publish.address, publish.http_port(self.tls))]
        if self.tls.enabled:
            ports.append(("publish.httpsPort", publish.address, publish.https_port))
        if self.registry.enabled:
            ports.append(("registry.port", self.registry.address, self.registry.port))
        return ports

    @model_validator(mode="after")
    def _distinct_ports(self) -> StackConfig:
        """Two published ports of the stack on one address would fail at `up` with Docker's raw
        "port is already allocated", after part of the stack exists."""
        seen: list[tuple[str, str, int]] = []
        for key, address, port in self.published_ports():
            for other_key, other_address, other_port in seen:
                overlapping = "0.0.0.0" in (address, other_address) or address == other_address
                if port == other_port and overlapping:
                    raise ValueError(
                        f"{other_key} and {key} both publish port {port} on the Docker host "
                        f"({other_address} and {address}); give each its own port"
                    )
            seen.append((key, address, port))
        return self

    @model_validator(mode="after")
    def _no_public_plain_http(self) -> StackConfig:
        if self.tls.mode == "none" and not self.publish.is_loopback and not self.tls.behind_tls_terminator:
            raise ValueError(
                f"publish.address {self.publish.address} is not loopback and tls.mode is none: "
                "logins would cross the network in plain text. Publish on 127.0.0.1, or set "
                "tls.behindTlsTerminator: true if another proxy terminates TLS in front"
            )
        return self


def _leaf_types(annotation: Any) -> list[Any]:
    """The types a field's annotation can hold: through Optional, unions, Annotated, tuples."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation]
    return [leaf for arg in typing.get_args(annotation) for leaf in _leaf_types(arg)]


def _secret_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every config path whose value is a `SecretStr`, as `pulumi config set --path` names it."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        for leaf in _leaf_types(field.annotation):
            if leaf is SecretStr:
                paths.append(path)
            elif isinstance(leaf, type) and issubclass(leaf, BaseModel):
                paths += _secret_paths(leaf, path + ".")
    return sorted(set(paths))


# Config paths that hold secrets, derived from the models' `SecretStr` fields: a value found at
# one of them in a key Pulumi does not hold as a secret was written in plain text into the
# stack file, and is refused.
SECRET_PATHS = tuple(_secret_paths(StackConfig))


def _format_error(error: Any) -> str:
    loc = [str(p) for p in error["loc"] if p not in AUTH_TYPES]
    # List entries as `pulumi config set --path` names them: shared[0].target
    key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", ".".join(loc)) or "(stack config)"
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"{key}.type: {error['ctx']['tag']!r} is not one of: {', '.join(AUTH_TYPES)}"
    if kind == "union_tag_not_found":
        return f"{key}.type: missing; set one of: {', '.join(AUTH_TYPES)}"
    if kind == "missing":
        return f"{key}: missing; this setting is required"
    if kind == "extra_forbidden":
        return f"{key}: unknown setting (check the spelling against docs/reference/configuration.md)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc or message.startswith((key + ".", key + " ")):
        return message  # a cross-setting check whose message names its keys itself
    if re.sub(r"\[\d+\]", "", key) in SECRET_PATHS or isinstance(error.get("input"), (dict, SecretStr)):
        return f"{key}: {message}"
    return f"{key}: {message} (got {error.get('input')!r})"


def _paths_with_values(value: Any, path: str, rest: list[str]) -> list[str]:
    """The concrete config paths (list entries indexed: shared[0].source...) that hold a value at
    `rest` below `value`."""
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _paths_with_values(item, f"{path}[{i}]", rest)]
    if not rest:
        return [] if value is None else [path]
    if not isinstance(value, dict):
        return []
    return _paths_with_values(value.get(rest[0]), f"{path}.{rest[0]}", rest[1:])


def parse_stack_config(raw: dict[str, Any], secret_keys: set[str] | frozenset[str]) -> StackConfig:
    """Validate raw config (key -> value, keys without the namespace).

    `secret_keys` are the top-level keys Pulumi holds encrypted; a secret setting found under
    any other key was written in plain text into the stack file and is refused.
    """
    problems: list[str] = []
    for path in SECRET_PATHS:
        top, *rest = path.split(".")
        if top in secret_keys:
            continue
        for found in _paths_with_values(raw.get(top), top, rest):
            problems.append(
                f"{found}: stored in plain text in the stack file; remove it and run "
                f"`pulumi config set --secret --path {found} <value>`"
            )
    try:
        config = StackConfig.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_error(e) for e in exc.errors())
        config = None
    if problems or config is None:
        raise ConfigError(problems)
    return config


def parse_value(text: str) -> Any:
    """Pulumi hands config values over as strings; objects, lists, numbers and booleans as JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_from_pulumi() -> StackConfig:
    """Read every `jupyterhub-docker:*` key of the running stack and validate it."""
    from pulumi.runtime import config as runtime_config

    prefix = NAMESPACE + ":"
    # The language host passes config in PULUMI_CONFIG; tests and the Automation API may set it
    # in the runtime instead. Neither has a public "all keys" accessor, and we need all keys to
    # refuse unknown ones, so both sources are merged here.
    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | runtime_config._SECRET_KEYS.get()
    raw = {
        key.removeprefix(prefix): parse_value(value) if isinstance(value, str) else value
        for key, value in values.items()
        if key.startswith(prefix)
    }
    secret = {key.removeprefix(prefix) for key in secret_keys if key.startswith(prefix)}
    return parse_stack_config(raw, secret)


def resolve_path(project_dir: Path, value: str, key: str) -> Path:
    """A path setting, relative to the project directory, that must exist."""
    path = Path(value)
    if not path.is_absolute():
        path = project_dir / path
    if not path.exists():
        raise config_problem(key, f"{value!r} does not exist ({path})")
    return path
