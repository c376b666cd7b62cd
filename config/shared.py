"""Shared folders (`jupyterhub-docker:shared`): what every user's server mounts beside its home.

Each entry names one source: a volume the stack owns, a directory on the Docker host, a CIFS/SMB
share or an NFS export (Docker volumes of the local driver, mounted by the Docker host's kernel).
Everyone reads it; who may write is `readOnly` (nobody), `writers` (admins and/or groups), or,
with neither, everyone.
"""

from __future__ import annotations

import posixpath
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from config.base import SLUG, ConfigModel
from hub.system_paths import host_path_problem, host_path_refusal, image_path_problem

# Characters the local driver's `o=` option list cannot hold in a value (it is split on commas).
_OPTION_UNSAFE = re.compile(r"[,\s]")


class StackVolumeSource(ConfigModel):
    """A named volume the stack creates, labels and keeps with `keepData`."""

    # A directory on the machine running Pulumi (relative to the project), copied into the
    # volume at `up` whenever its content changed: course material, a dataset. Files of the
    # same name are overwritten; files people added to the folder are left alone.
    seed: str | None = None
    """A directory (relative to the project) copied into the volume whenever its content changed; files
    people added stay."""


class CifsSource(ConfigModel):
    """An SMB share, mounted by the Docker host (it needs the kernel's CIFS client)."""

    server: str  # host name or address of the SMB server
    """The SMB server's host name or address."""
    share: str  # the share's name, as in //server/share
    """The share's name, as in `//server/share`."""
    username: str | None = None
    """The SMB user."""
    # Docker keeps it in the volume's options (/var/lib/docker/volumes/<name>/opts.json, and
    # `docker volume inspect` shows it to whoever may use the engine). The local driver mounts
    # with the mount(2) system call, not mount.cifs, so mount.cifs's credentials= file is not
    # an option.
    password: SecretStr | None = None
    """Its password (a secret)."""
    options: str = ""  # more cifs mount options, comma-separated: vers=3.0,uid=1000,gid=100
    """More cifs mount options, comma-separated, e.g. `vers=3.0,uid=1000,gid=100`."""

    @field_validator("server", "share", "username")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None and (not value or _OPTION_UNSAFE.search(value) or "/" in value):
            raise ValueError("must be non-empty, without '/', commas or spaces")
        return value

    @field_validator("password")
    @classmethod
    def _carried(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and _OPTION_UNSAFE.search(value.get_secret_value()):
            raise ValueError("contains a comma or space, which the volume's mount options cannot carry")
        return value

    def driver_options(self) -> dict[str, str]:
        """The local driver's options; Docker resolves `addr` when it is a host name."""
        login = [f"username={self.username}"] if self.username else []
        login += [f"password={self.password.get_secret_value()}"] if self.password else []
        extra = [self.options] if self.options else []
        return {
            "type": "cifs",
            "device": f"//{self.server}/{self.share}",
            "o": ",".join([f"addr={self.server}", *login, *extra]),
        }


class NfsSource(ConfigModel):
    """An NFS export, mounted by the Docker host (it needs the kernel's NFS client)."""

    server: str
    """The NFS server's host name or address."""
    export: str  # the exported path, e.g. /srv/share
    """The exported path, e.g. `/srv/share`."""
    options: str = "nfsvers=4"  # mount options, comma-separated
    """Mount options, comma-separated."""

    def driver_options(self) -> dict[str, str]:
        return {
            "type": "nfs",
            "device": f":{self.export}",
            "o": ",".join([f"addr={self.server}", *([self.options] if self.options else [])]),
        }

    @field_validator("export")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not posixpath.isabs(value):
            raise ValueError("must be an absolute path such as /srv/share")
        return value


class SharedSource(ConfigModel):
    """Exactly one of the four."""

    volume: StackVolumeSource | None = None
    host_path: str | None = None  # an existing directory on the Docker host
    """An existing directory on the Docker host; not a system directory, nor a link into one."""
    cifs: CifsSource | None = None
    nfs: NfsSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SharedSource:
        sources = {"volume": self.volume, "hostPath": self.host_path, "cifs": self.cifs, "nfs": self.nfs}
        given = [key for key, value in sources.items() if value is not None]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of volume: {}, hostPath: /dir/on/the/docker/host, cifs: {...} or "
                f"nfs: {{...}} (found {', '.join(given) or 'none'})"
            )
        path = self.host_path
        if path is not None and (not posixpath.isabs(path) or posixpath.normpath(path) == "/" or "{" in path):
            raise ValueError(f"hostPath {path!r}: must be an absolute directory other than /, without braces")
        return self

    @property
    def kind(self) -> Literal["volume", "hostPath", "cifs", "nfs"]:
        if self.volume is not None:
            return "volume"
        if self.host_path is not None:
            return "hostPath"
        return "cifs" if self.cifs is not None else "nfs"


class SharedWriters(ConfigModel):
    """Who may write; everyone else sees the folder read-only."""

    admins: bool = False
    """Whether the hub's admins may write."""
    groups: list[str] = Field(default_factory=list)  # the authenticator's groups (LDAP, OIDC, ...)
    """The authenticator's groups (LDAP, OIDC, ...) whose members may write."""

    @model_validator(mode="after")
    def _someone(self) -> SharedWriters:
        if not self.admins and not self.groups:
            raise ValueError("writers: name someone (admins: true, or groups: [...]), or use readOnly: true")
        return self


class SharedFolderConfig(ConfigModel):
    name: str  # names the stack's Docker objects: jhub-<stack>-shared-<name>
    """Names the stack's Docker objects (`jhub-<stack>-shared-<name>`): a-z, 0-9, `-`."""
    target: str  # where it appears in every user's server, e.g. /home/jovyan/course
    """Where it appears in every user's server, e.g. `/home/jovyan/course`."""
    read_only: bool = False
    """Mounted read-only for everyone."""
    writers: SharedWriters | None = None
    source: SharedSource

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("use lower-case letters, digits and '-' (at most 40), e.g. course-data")
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        normal = posixpath.normpath(value)
        if not posixpath.isabs(value) or normal != value.rstrip("/") or normal == "/":
            raise ValueError("must be a normalized absolute path such as /home/jovyan/shared")
        problem = image_path_problem(normal)
        if problem is not None:
            raise ValueError(f"{problem}; mount it elsewhere, e.g. /home/jovyan/shared")
        return normal

    @model_validator(mode="after")
    def _access(self) -> SharedFolderConfig:
        if self.read_only and self.writers is not None:
            raise ValueError("readOnly: true and writers exclude each other: keep one")
        return self


def check_shared(shared: list[SharedFolderConfig], home_dir: str, docker_socket: str) -> list[str]:
    """Problems of the list as a whole: names and targets unique, no target over the home, no
    host directory that hands users the host (`docker_socket`: the engine's, on that host)."""
    problems: list[str] = []
    for index, entry in enumerate(shared):
        key = f"shared[{index}]"
        path = entry.source.host_path
        refused = None if path is None else host_path_problem(path, docker_socket)
        if path is not None and refused is not None:
            problems.append(host_path_refusal(key, path, refused))
        for other in shared[:index]:
            if other.name == entry.name:
                problems.append(f"{key}.name: {entry.name!r} is used twice; give each folder its own name")
            if other.target == entry.target:
                problems.append(f"{key}.target: {entry.target!r} is used twice; one folder per path")
        if entry.target == home_dir or posixpath.commonpath([entry.target, home_dir]) == entry.target:
            problems.append(
                f"{key}.target: {entry.target!r} would cover the home directory {home_dir} "
                f"(spawner.homeDir); mount it inside, e.g. {home_dir}/{entry.name}"
            )
    return problems
