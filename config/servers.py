"""Users' servers over a class's life: idle culling, profiles, named servers, spawn throttling.

`culler` stops servers nobody uses (jupyterhub-idle-culler, run by the hub as a service) and
shuts down idle kernels inside each server; `profiles` are the choices of the spawn form (image,
size, GPUs, environment, who may pick each); `namedServers` lets a person run several servers.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import IDENTIFIER, SLUG, ConfigModel
from hub.contract import memory_bytes

_MEMORY = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9:._-]{1,100}$")
# Swarm's constraint grammar (swarmkit manager/constraint/constraint.go): a node attribute,
# == or !=, a value; no spaces or quotes, which the spec would carry verbatim.
PLACEMENT = re.compile(
    r"^(node\.(id|hostname|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[A-Za-z0-9_.-]{1,100})"
    r"(==|!=)[A-Za-z0-9_.*-]{1,200}$"
)


def check_memory(value: str | None) -> str | None:
    if value is not None and not _MEMORY.match(value):
        raise ValueError("must be a size such as 512M or 2G")
    return value


def memory_guarantee(asked: str | None, fallback: str, limit: str) -> str:
    """The guarantee a server gets: the one asked for, else `fallback` capped at `limit` (a
    server is never guaranteed more than it may use)."""
    if asked is not None:
        return asked
    return fallback if memory_bytes(fallback) <= memory_bytes(limit) else limit


def guarantee_problem(guarantee_key: str, guarantee: str | None, limit_key: str, limit: str) -> str | None:
    """Why a guarantee asked for above its limit is refused, naming both settings."""
    if guarantee is None or memory_bytes(guarantee) <= memory_bytes(limit):
        return None
    return (
        f"{guarantee_key} {guarantee} is above {limit_key} {limit}: a server cannot be "
        f"guaranteed more than it may use; lower {guarantee_key} or raise {limit_key}"
    )


class CullerConfig(ConfigModel):
    """Idle culling: servers without activity for `timeout` seconds are stopped."""

    enabled: bool = True
    """Stop servers idle for `timeout`; see [Servers for a class](../how-to/classes.md)."""
    timeout: int = Field(default=3600, ge=10, le=30 * 86400)
    """Seconds of inactivity after which a server is stopped."""
    # Seconds between two checks; by default half the timeout (the culler's own default).
    every: int | None = Field(default=None, ge=5, le=86400)
    """How often to check, in seconds. Default: half the timeout."""
    # Stop servers older than this many seconds even when active; 0: no limit.
    max_age: int = Field(default=0, ge=0)
    """Stop servers older than this many seconds even if active (`0`: never)."""
    # Also delete users whose servers were culled (temporary users only: their home volume stays).
    cull_users: bool = False
    """Delete culled users too."""
    # Idle kernels inside a server are shut down after this many seconds, connected or not; 0: never.
    kernel_timeout: int = Field(default=3600, ge=0)
    """Shut down idle kernels inside a server after this many seconds, connected or not (`0`: never)."""
    # A server `workshop.prestart` started is left alone this long, unless its user used it.
    prestart_grace: int = Field(default=4 * 3600, ge=0)
    """A server `workshop.prestart` started is kept this long unless its user used it."""

    @model_validator(mode="after")
    def _every_within_timeout(self) -> CullerConfig:
        if self.every is not None and self.every > self.timeout:
            raise ValueError(
                f"culler.every ({self.every}) is longer than culler.timeout ({self.timeout}): "
                "servers would stay idle up to twice the timeout; set every to at most the timeout"
            )
        return self


class ProfileAccessConfig(ConfigModel):
    """Who may pick a profile: any listed user, any member of a listed group, or any admin."""

    users: tuple[str, ...] = ()
    """Usernames who may pick the profile."""
    groups: tuple[str, ...] = ()
    """The authenticator's groups whose members may pick it."""
    admins: bool = False
    """Whether the hub's admins may pick it."""

    @model_validator(mode="after")
    def _someone(self) -> ProfileAccessConfig:
        if not (self.users or self.groups or self.admins):
            raise ValueError(
                "allowed: names nobody; list users or groups, set admins: true, "
                "or remove `allowed` to offer the profile to everyone"
            )
        return self


class ProfileConfig(ConfigModel):
    """One choice of the spawn form."""

    name: str  # what the form submits and user_options carry: a-z, 0-9, '-'
    """What the form submits: a-z, 0-9, `-`."""
    display_name: str | None = Field(default=None, max_length=80)
    """What the form shows (default: the name)."""
    description: str = Field(default="", max_length=500)
    """A line under it in the form."""
    # The name of a notebook image (`notebook.images[].name`, or "Default" for the single image).
    image: str | None = None
    """The `name` of one of `notebook.images` (`Default` for the single image)."""
    mem_limit: str | None = None
    """Memory cap of its servers (default: `spawner.memLimit`)."""
    # What each of its servers is guaranteed (absent: spawner.memGuarantee, at most memLimit).
    mem_guarantee: str | None = None
    """Memory its servers are guaranteed and admitted by (default: the spawner's, at most the profile's
    cap)."""
    cpu_limit: float | None = Field(default=None, gt=0, le=256)
    """CPU limit of its servers (default: `spawner.cpuLimit`)."""
    # "all", a count, or device ids: a Docker device request for the NVIDIA driver.
    gpus: Literal["all"] | int | tuple[str, ...] | None = None
    """GPUs for its servers: `all`, a count, or device IDs."""
    environment: dict[str, str] = Field(default_factory=dict)
    """Environment variables of its servers."""
    allowed: ProfileAccessConfig | None = None  # absent: everyone
    default: bool = False
    """Preselected in the form."""
    # The profile's image starts as root to switch user (absent: spawner.startsAsRoot).
    starts_as_root: bool | None = None
    """Its image starts as root and switches user (default: `spawner.startsAsRoot`)."""
    # orchestrator: swarm only: the nodes its servers may run on, as Swarm placement
    # constraints (`node.labels.gpu==true`).
    placement: tuple[str, ...] = ()
    """Swarm placement constraints: the nodes its servers may run on."""

    @field_validator("placement")
    @classmethod
    def _constraints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for constraint in value:
            if not PLACEMENT.match(constraint):
                raise ValueError(
                    f"{constraint!r} is not a Swarm constraint such as node.labels.gpu==true, "
                    "node.role!=manager or node.hostname==node2"
                )
        return value

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit")
        return value

    @field_validator("mem_limit", "mem_guarantee")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        return check_memory(value)

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, value: str | int | tuple[str, ...] | None) -> str | int | tuple[str, ...] | None:
        if isinstance(value, bool):
            raise ValueError('must be "all", a number of GPUs, or a list of device ids')
        if isinstance(value, int) and value < 1:
            raise ValueError("must be at least 1 (remove the setting for no GPU)")
        if isinstance(value, tuple) and (not value or not all(_DEVICE_ID.match(v) for v in value)):
            raise ValueError('must list device ids such as "0" or "GPU-3a8f..." (nvidia-smi -L)')
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not IDENTIFIER.match(key):
                raise ValueError(f"{key!r} is not an environment variable name")
            if key.startswith("JUPYTERHUB_"):
                raise ValueError(f"{key}: JUPYTERHUB_* variables are set by the hub for each server")
        return value


class NamedServersConfig(ConfigModel):
    """Several servers per person (`/user/<name>/<server>`), at most `limit`; 0 turns them off."""

    limit: int = Field(default=0, ge=0, le=100)
    """Servers per person besides the default one (`0`: off)."""
    # Each named server has its own home volume; with sharedHome, all of a person's servers
    # mount the same home.
    shared_home: bool = False
    """Whether they share the person's home."""


class WorkshopConfig(ConfigModel):
    """A class that logs in at once: start everyone's server after `up`."""

    # Start the servers of every user in auth.allowedUsers / auth.allowedUsersFile after `up`.
    prestart: bool = False
    """After `up`, start every listed user's server."""
    # How many servers the prestart starts at a time.
    prestart_concurrency: int = Field(default=4, ge=1, le=64)
    """That many at a time."""


def check_profiles(profiles: list[ProfileConfig], image_names: list[str]) -> list[str]:
    """Cross-entry problems of `profiles`, each naming its setting."""
    problems: list[str] = []
    names = [p.name for p in profiles]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"profiles: duplicate names {duplicates}; each profile needs its own name")
    defaults = [f"profiles[{i}]" for i, p in enumerate(profiles) if p.default]
    if len(defaults) > 1:
        problems.append(f"profiles: {' and '.join(defaults)} are all default; keep default: true on one")
    for i, profile in enumerate(profiles):
        if profile.image is not None and profile.image not in image_names:
            problems.append(
                f"profiles[{i}].image: {profile.image!r} is not one of the notebook images: "
                f"{', '.join(image_names)} (name them in notebook.images)"
            )
    return problems
