"""The contract between the Pulumi program and the hub: the two documents the hub reads.

The program renders `settings.json` (nothing secret) and `secrets.json` from the validated stack
config (plan/hub_settings.py); the hub image ships this module and reads both through the
same types (hub/apply.py). A key renamed on one side and not the other is a type error, not a
hub that silently ignores a setting.

Plain TypedDicts: the documents are JSON, and the hub image needs no extra dependency.
"""

from __future__ import annotations

import re
from typing import Any, Literal, NotRequired, TypedDict

SETTINGS_FILE = "/etc/jupyterhub/settings.json"
# Secrets arrive as an uploaded file, not environment variables, so they appear neither in
# `docker inspect` nor in the image.
SECRETS_FILE = "/run/jhub/secrets.json"
# Where the hub finds the CA certificates it trusts for the identity provider, when set.
AUTH_CA_FILE = "/etc/jupyterhub/auth-ca.pem"
# branding (config/branding.py): the logo and the templates directory, uploaded with the hub.
BRANDING_DIR = "/etc/jupyterhub/branding"
BRANDING_TEMPLATES_DIR = f"{BRANDING_DIR}/templates"


def branding_logo_file(kind: str) -> str:
    return f"{BRANDING_DIR}/logo.{kind}"


# The hub's database, cookie secret and first-use password store: the stack's data volume.
DATA_DIR = "/srv/jupyterhub/data"
HUB_PORT = 8081
# Which servers workshop.prestart started ({"<user>": "<started timestamp>"}), read by the
# idle culler's arbiter (hub/culler/culler_config.py); on the data volume, writable only in the hub.
PRESTARTED_FILE = f"{DATA_DIR}/prestarted.json"

AuthType = Literal["shared-password", "native", "firstuse", "github", "oidc", "ldap", "anonymous"]


class StackSettings(TypedDict):
    project: str
    name: str


class HubSettings(TypedDict):
    host: str
    port: int


class ProxySettings(TypedDict):
    apiUrl: str


class NativeSettings(TypedDict):
    signup: bool
    openSignup: bool
    minimumPasswordLength: int
    allowedFailedLogins: int
    lockoutSeconds: int


class FirstUseSettings(TypedDict):
    minimumPasswordLength: int


class GitHubSettings(TypedDict):
    clientId: str
    callbackUrl: str
    allowedOrganizations: list[str]
    scopes: list[str]


class OidcSettings(TypedDict):
    clientId: str
    callbackUrl: str
    issuer: str | None
    authorizeUrl: str | None
    tokenUrl: str | None
    userinfoUrl: str | None
    scopes: list[str]
    usernameClaim: str
    groupsClaim: str
    allowedGroups: list[str]
    adminGroups: list[str]
    caFile: str | None


class LdapLookupSettings(TypedDict):
    searchBase: str
    userAttribute: str
    searchUser: str | None


class LdapSettings(TypedDict):
    serverAddress: str
    serverPort: int | None
    tlsStrategy: str
    bindDnTemplates: list[str]
    lookup: LdapLookupSettings | None
    allowedGroups: list[str]
    adminGroups: list[str]
    caFile: str | None


class AuthSettings(TypedDict):
    """The selected login method: `type`, the lists every mode but anonymous has, and the
    settings of the mode itself under its own key."""

    type: AuthType
    admins: NotRequired[list[str]]
    allowedUsers: NotRequired[list[str]]
    allowAll: NotRequired[bool]
    native: NotRequired[NativeSettings]
    firstuse: NotRequired[FirstUseSettings]
    github: NotRequired[GitHubSettings]
    oidc: NotRequired[OidcSettings]
    ldap: NotRequired[LdapSettings]


class RegistrySettings(TypedDict):
    server: str
    username: str | None


class SpawnerSettings(TypedDict):
    # "docker": containers on the one engine; "swarm": services over a swarm's nodes
    # (hub/spawners/swarm_spawner.py).
    orchestrator: Literal["docker", "swarm"]
    image: str
    # Offered at spawn time when there is more than one; nothing else can be requested.
    images: dict[str, str]
    network: str
    containerPrefix: str
    volumePrefix: str
    homeDir: str
    # The Docker engine's socket on the Docker host: no server may mount it or what holds it.
    engineSocket: str
    memLimit: str
    # Reserved for each server, and what activeServerLimit is derived from (hub/servers.py).
    memGuarantee: str
    cpuLimit: float
    startTimeout: int
    # Idle kernels in a server are shut down after this many seconds; 0: never.
    kernelTimeout: int
    # None: derived from the Docker host at hub start (hub/servers.py).
    concurrentSpawnLimit: int | None
    activeServerLimit: int | None
    labels: dict[str, str]
    volumeLabels: dict[str, str]
    # Hardening of every user container (hub/hardening.py); 0: no PIDs limit.
    pidsLimit: int
    readOnlyRootFilesystem: bool
    # The image starts as root and switches user itself: root, with the capabilities for that.
    startsAsRoot: bool


class CullerSettings(TypedDict):
    timeout: int
    every: int | None
    maxAge: int
    cullUsers: bool
    # Seconds a prestarted server is kept while its user has not used it.
    prestartGrace: int


class GpuSettings(TypedDict):
    # -1: all GPUs; otherwise a count (deviceIds empty) or the listed devices.
    count: int
    deviceIds: list[str]


class ProfileAccessSettings(TypedDict):
    everyone: bool
    users: list[str]
    groups: list[str]
    admins: bool


class ProfileSettings(TypedDict):
    name: str
    displayName: str
    description: str
    # A key of spawner.images.
    image: str
    memLimit: str
    memGuarantee: str
    cpuLimit: float
    gpus: GpuSettings | None
    environment: dict[str, str]
    access: ProfileAccessSettings
    default: bool
    # Swarm placement constraints (node.labels.<k>==<v>, node.role, node.hostname): where its
    # servers may run; empty: any node.
    placement: list[str]
    startsAsRoot: bool


class NamedServersSettings(TypedDict):
    limit: int
    sharedHome: bool


class PrestartSettings(TypedDict):
    users: list[str]
    concurrency: int


class SharedWritersSettings(TypedDict):
    everyone: bool
    admins: bool
    groups: list[str]


class SharedFolderSettings(TypedDict):
    name: str
    target: str
    # A named volume (stack-owned, CIFS or NFS: all Docker volumes) or a directory on the host.
    type: Literal["volume", "bind"]
    source: str
    # Who gets it read-write; everyone else read-only (decided at each server start).
    writers: SharedWritersSettings


class RoleSettings(TypedDict):
    # A declared role (config/roles.py), as JupyterHub's load_roles takes it; `users` and `groups`
    # always present, so the hub sets each membership to exactly these (app.py
    # `init_role_assignment`).
    name: str
    description: str
    scopes: list[str]
    users: list[str]
    groups: list[str]


class BrandingSettings(TypedDict):
    # The uploaded logo's and templates directory's paths in the hub container, or None; the
    # texts as the person wrote them (the hub escapes them).
    logo: str | None
    templates: str | None
    loginText: str
    announcement: str


class Settings(TypedDict):
    stack: StackSettings
    # Browsers reach the hub over HTTPS (the stack's TLS edge, or a terminator in front of it):
    # every cookie the hub and the servers set is Secure.
    https: bool
    hub: HubSettings
    proxy: ProxySettings
    auth: AuthSettings
    registry: RegistrySettings | None
    spawner: SpawnerSettings
    # Shared folders (config/shared.py); absent when the stack has none.
    shared: NotRequired[list[SharedFolderSettings]]
    # jupyterhub-idle-culler as a hub service; None when culler.enabled is off.
    culler: CullerSettings | None
    # The spawn form's choices; absent when the stack defines none (the image list is offered).
    profiles: NotRequired[list[ProfileSettings]]
    namedServers: NamedServersSettings
    # workshop.prestart; absent when off.
    prestart: NotRequired[PrestartSettings]
    # Declared groups {name: [usernames]} and roles; absent when the stack declares none.
    groups: NotRequired[dict[str, list[str]]]
    roles: NotRequired[list[RoleSettings]]
    # branding; absent when nothing of it is set.
    branding: NotRequired[BrandingSettings]
    # hub.extraConfig: {ClassName: {trait: JSON value}}, applied after everything else; absent
    # when the stack sets none.
    extraConfig: NotRequired[dict[str, dict[str, Any]]]


class Secrets(TypedDict):
    proxyAuthToken: str
    # The `metrics` service's token (scope read:metrics), the stack output metricsToken.
    metricsToken: str
    # The `prestart` service's token (scope servers), used only inside the hub container.
    prestartToken: str
    sharedPassword: NotRequired[str]
    adminPassword: NotRequired[str]
    clientSecret: NotRequired[str]
    ldapSearchPassword: NotRequired[str]
    registryPassword: NotRequired[str]


_SIZE = re.compile(r"^([0-9]+)([kKmMgGtT]?)$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def memory_bytes(size: str) -> int:
    """A memory size of the settings ("512M", "2G", "2g", "1073741824") in bytes, with
    JupyterHub's binary units (jupyterhub/traitlets.py `ByteSpecification`). The hub hands
    DockerSpawner this number, not the text: ByteSpecification itself reads only upper-case
    suffixes, and the stack config accepts both. The API proxy allows exactly this number."""
    match = _SIZE.match(size.strip())
    if not match:
        raise ValueError(f"{size!r} is not a memory size such as 512M or 2G")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]
