"""The hub's configuration, as a function of the two documents the program renders.

`configure(c, settings, secrets)` maps them onto JupyterHub's traits; jupyterhub_config.py only
loads the files and calls it. Each login method is one applier in `AUTH_APPLIERS`, keyed by the
`auth.type` its model in config/auth.py renders. Everything stack-specific arrives
in the documents, so the same image serves every stack, and no Python is generated.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub.branding import branding
from hub.compat.resolver import connector_options
from hub.contract import (
    DATA_DIR,
    AuthSettings,
    AuthType,
    OidcSettings,
    Secrets,
    Settings,
    SharedFolderSettings,
    memory_bytes,
)
from hub.hardening import create_kwargs, host_config
from hub.names import escape
from hub.roles import groups_and_roles
from hub.servers import configure_servers, home_volume
from hub.spawners.profiles import StackSpawner
from hub.spawners.swarm_spawner import StackSwarmSpawner
from hub.spawners.throughput import configure_throughput

DISCOVERY_TIMEOUT = 120  # seconds the hub waits at start for the OIDC provider's discovery
EVENT_LOOP_RESOLUTION = 0.5  # seconds

Applier = Callable[[AuthSettings, Secrets, Config], None]


def _hub_and_proxy(c: Config, settings: Settings, secrets: Secrets) -> None:
    hub = settings["hub"]
    # An explicit bind URL: with hub_ip alone, JupyterHub 5 binds only the address its connect
    # host resolves to, and the container's healthcheck on 127.0.0.1 would never succeed.
    c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{hub['port']}"
    c.JupyterHub.hub_connect_url = f"http://{hub['host']}:{hub['port']}"
    # The proxy runs in its own container so user traffic keeps flowing while the hub restarts;
    # the hub only talks to its REST API.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = settings["proxy"]["apiUrl"]
    c.ConfigurableHTTPProxy.auth_token = secrets["proxyAuthToken"]
    # The database and the cookie secret live on the stack's data volume, so logins and users
    # survive a restart or a replacement of the hub container.
    c.JupyterHub.db_url = f"sqlite:///{DATA_DIR}/jupyterhub.sqlite"
    c.JupyterHub.cookie_secret_file = f"{DATA_DIR}/jupyterhub_cookie_secret"
    # A hub image with a newer JupyterHub upgrades an older database at start, after copying the
    # SQLite file next to it (jupyterhub/dbutil.py `upgrade_if_needed`: <db>.<timestamp>), as
    # Z2JH and TLJH do; a failed upgrade leaves that copy and the hub does not start.
    c.JupyterHub.upgrade_db = True
    # Stopping the hub must not stop the users' servers.
    c.JupyterHub.cleanup_servers = False
    # JupyterHub measures its event loop's responsiveness by waking every 50 ms, for as long as
    # the hub runs (jupyterhub/metrics.py `PeriodicMetricsCollector`): most of an idle hub's CPU
    # (bench/idle.py). Every half second still catches, and logs, a loop blocked for a second.
    c.PeriodicMetricsCollector.event_loop_interval_resolution = EVENT_LOOP_RESOLUTION
    # Names on Docker move (a restarted Swarm server, a replaced proxy): the hub's requests look
    # them up each time instead of keeping c-ares' answer for its 600 s TTL (hub/compat/resolver.py).
    c.JupyterHubHTTPClient.connector_options = connector_options()


def _allow_lists(auth: AuthSettings, c: Config) -> None:
    c.Authenticator.admin_users = set(auth.get("admins", []))
    c.Authenticator.allowed_users = set(auth.get("allowedUsers", []))
    c.Authenticator.allow_all = auth.get("allowAll", False)


def shared_password(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    _allow_lists(auth, c)
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = secrets["sharedPassword"]
    if "adminPassword" in secrets:
        c.SharedPasswordAuthenticator.admin_password = secrets["adminPassword"]


def native(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    import nativeauthenticator

    _allow_lists(auth, c)
    settings = auth["native"]
    # Upstream's, with its login handler bridged to JupyterHub 6 (hub/compat/native.py).
    c.JupyterHub.authenticator_class = "hub.compat.native.NativeAuthenticator"
    c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
    c.NativeAuthenticator.enable_signup = settings["signup"]
    c.NativeAuthenticator.open_signup = settings["openSignup"]
    c.NativeAuthenticator.minimum_password_length = settings["minimumPasswordLength"]
    c.NativeAuthenticator.allowed_failed_logins = settings["allowedFailedLogins"]
    c.NativeAuthenticator.seconds_before_next_try = settings["lockoutSeconds"]


def first_use(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    _allow_lists(auth, c)
    c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
    # The password store lives on the data volume, next to the hub database.
    c.FirstUseAuthenticator.dbm_path = f"{DATA_DIR}/firstuse-passwords.dbm"
    c.FirstUseAuthenticator.min_password_length = auth["firstuse"]["minimumPasswordLength"]


def github(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    _allow_lists(auth, c)
    settings = auth["github"]
    c.JupyterHub.authenticator_class = "github"
    c.GitHubOAuthenticator.client_id = settings["clientId"]
    c.GitHubOAuthenticator.client_secret = secrets["clientSecret"]
    c.GitHubOAuthenticator.oauth_callback_url = settings["callbackUrl"]
    c.GitHubOAuthenticator.scope = settings["scopes"]
    c.GitHubOAuthenticator.allowed_organizations = set(settings["allowedOrganizations"])


def discover(oidc: OidcSettings) -> tuple[str, str, str]:
    """The provider's endpoints: explicit, or from its discovery document (read at start)."""
    if not oidc["issuer"]:
        assert oidc["authorizeUrl"] and oidc["tokenUrl"] and oidc["userinfoUrl"]
        return oidc["authorizeUrl"], oidc["tokenUrl"], oidc["userinfoUrl"]
    context = ssl.create_default_context(cafile=oidc["caFile"]) if oidc["caFile"] else None
    url = oidc["issuer"] + "/.well-known/openid-configuration"
    # The provider may come up after the hub (a host reboot starts containers in any order):
    # retry for a while instead of crash-looping, then fail with the reason.
    deadline = time.monotonic() + DISCOVERY_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10, context=context) as response:
                document: dict[str, str] = json.load(response)
            break
        except (OSError, ValueError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"OIDC discovery at {url} failed: {exc}") from exc
            print(f"OIDC discovery at {url} failed ({exc}); retrying", flush=True)
            time.sleep(2)
    return document["authorization_endpoint"], document["token_endpoint"], document["userinfo_endpoint"]


def oidc(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    _allow_lists(auth, c)
    settings = auth["oidc"]
    authorize_url, token_url, userinfo_url = discover(settings)
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.login_service = "OpenID Connect"
    c.GenericOAuthenticator.client_id = settings["clientId"]
    c.GenericOAuthenticator.client_secret = secrets["clientSecret"]
    c.GenericOAuthenticator.oauth_callback_url = settings["callbackUrl"]
    c.GenericOAuthenticator.authorize_url = authorize_url
    c.GenericOAuthenticator.token_url = token_url
    c.GenericOAuthenticator.userdata_url = userinfo_url
    c.GenericOAuthenticator.scope = settings["scopes"]
    c.GenericOAuthenticator.username_claim = settings["usernameClaim"]
    if settings["caFile"]:
        c.GenericOAuthenticator.http_request_kwargs = {"ca_certs": settings["caFile"]}
    if settings["allowedGroups"] or settings["adminGroups"]:
        # manage_groups first: the group settings refuse to be set without it.
        c.GenericOAuthenticator.manage_groups = True
        c.GenericOAuthenticator.auth_state_groups_key = f"oauth_user.{settings['groupsClaim']}"
        c.GenericOAuthenticator.allowed_groups = set(settings["allowedGroups"])
        c.GenericOAuthenticator.admin_groups = set(settings["adminGroups"])


def ldap_admin_groups_hook(admin_groups: list[str]) -> Callable[..., Any]:
    """Members of auth.adminGroups are admins; LDAPAuthenticator itself only filters by group."""

    async def hook(authenticator: Any, handler: Any, auth_model: dict[str, Any]) -> dict[str, Any]:
        groups = set((auth_model.get("auth_state") or {}).get("ldap_groups", []))
        if groups & set(admin_groups):
            auth_model["admin"] = True
        return auth_model

    return hook


def ldap(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    _allow_lists(auth, c)
    settings = auth["ldap"]
    c.JupyterHub.authenticator_class = "ldapauthenticator.LDAPAuthenticator"
    c.LDAPAuthenticator.server_address = settings["serverAddress"]
    if settings["serverPort"]:
        c.LDAPAuthenticator.server_port = settings["serverPort"]
    c.LDAPAuthenticator.tls_strategy = settings["tlsStrategy"]
    # ldap3 does not verify the server's certificate unless told to.
    tls: dict[str, Any] = {"validate": ssl.CERT_REQUIRED}
    if settings["caFile"]:
        tls["ca_certs_file"] = settings["caFile"]
    c.LDAPAuthenticator.tls_kwargs = tls
    if settings["bindDnTemplates"]:
        c.LDAPAuthenticator.bind_dn_template = settings["bindDnTemplates"]
    lookup = settings["lookup"]
    if lookup:
        c.LDAPAuthenticator.lookup_dn = True
        c.LDAPAuthenticator.user_search_base = lookup["searchBase"]
        c.LDAPAuthenticator.user_attribute = lookup["userAttribute"]
        # Keep the login name as the username, not the entry's cn.
        c.LDAPAuthenticator.lookup_dn_user_dn_attribute = lookup["userAttribute"]
        if lookup["searchUser"]:
            c.LDAPAuthenticator.lookup_dn_search_user = lookup["searchUser"]
            c.LDAPAuthenticator.lookup_dn_search_password = secrets["ldapSearchPassword"]
    # Admin groups are searched too, so their members get in and can be promoted.
    groups = sorted(set(settings["allowedGroups"]) | set(settings["adminGroups"]))
    if groups:
        c.LDAPAuthenticator.allowed_groups = groups
    if settings["adminGroups"]:
        c.Authenticator.post_auth_hook = ldap_admin_groups_hook(settings["adminGroups"])


def anonymous(auth: AuthSettings, secrets: Secrets, c: Config) -> None:
    c.JupyterHub.authenticator_class = "tmp"
    # TmpAuthenticator 1.0.0 predates JupyterHub 5's explicit allow config: without this every
    # generated user is "not allowed" and /hub/tmplogin fails with a 500.
    c.TmpAuthenticator.allow_all = True


AUTH_APPLIERS: dict[AuthType, Applier] = {
    "shared-password": shared_password,
    "native": native,
    "firstuse": first_use,
    "github": github,
    "oidc": oidc,
    "ldap": ldap,
    "anonymous": anonymous,
}


def _spawner(c: Config, settings: Settings, secrets: Secrets) -> None:
    spawner = spawner_settings = settings["spawner"]
    # DockerSpawner, with a clear message when a profile's GPUs cannot be given; on a swarm,
    # services spread over its nodes (hub/spawners/swarm_spawner.py).
    swarm = spawner["orchestrator"] == "swarm"
    c.JupyterHub.spawner_class = StackSwarmSpawner if swarm else StackSpawner
    c.DockerSpawner.image = spawner["image"]
    if len(spawner["images"]) > 1:
        # A choice in the spawn form; DockerSpawner refuses any image not in this list.
        c.DockerSpawner.allowed_images = spawner["images"]
    c.DockerSpawner.network_name = spawner["network"]
    c.DockerSpawner.use_internal_ip = True
    c.DockerSpawner.prefix = spawner["containerPrefix"]
    # Escaped as DockerSpawner does, but bounded: a very long username still fits a volume name.
    c.DockerSpawner.escape = escape
    # DockerSpawner's default container names: {prefix}-{username} for a person's default
    # server, {prefix}-{username}--{servername} for a named one (dockerspawner.py
    # `_default_name_template`).
    # Every notebook image is on the Docker host before the hub starts (built, or pulled by the
    # program), so a spawn never waits for a pull; one missing (pruned by hand) is pulled once.
    # On a swarm, the node a task lands on pulls the image itself (by the reference's digest
    # where the manager resolved one): the hub's engine is not the one that runs it.
    c.DockerSpawner.pull_policy = "skip" if swarm else "ifnotpresent"
    # Containers are disposable; the home volume is what persists.
    c.DockerSpawner.remove = True
    c.DockerSpawner.notebook_dir = spawner["homeDir"]
    # Every object created at run time carries the stack's labels, so `pulumi destroy` can find
    # the containers and home volumes it never created itself.
    c.DockerSpawner.extra_create_kwargs = create_kwargs(spawner["labels"], spawner["startsAsRoot"])
    # No capabilities, no new privileges, a PIDs limit, optionally a read-only root filesystem
    # (hub/hardening.py); a profile's choice rebuilds both at its start (hub/spawners/profiles.py).
    c.DockerSpawner.extra_host_config = host_config(spawner, spawner["startsAsRoot"], spawner["memGuarantee"])
    c.DockerSpawner.mem_limit = memory_bytes(spawner["memLimit"])
    # A Swarm service's reservation (swarmspawner.py); containers carry it in the host config.
    c.DockerSpawner.mem_guarantee = memory_bytes(spawner["memGuarantee"])
    c.DockerSpawner.cpu_limit = spawner["cpuLimit"]
    c.Spawner.start_timeout = spawner["startTimeout"]
    c.Spawner.http_timeout = spawner["startTimeout"]

    hooks: list[Callable[[Any], None]] = []
    registry = settings["registry"]
    if registry and registry["username"]:
        server, username, password = registry["server"], registry["username"], secrets["registryPassword"]

        def registry_login(spawner: Any) -> None:
            """Log DockerSpawner's client in, so an image missing on the host is pulled with the
            registry's credentials (images are normally present: built before the hub starts)."""
            spawner.client.login(username=username, password=password, registry=server)

        hooks.append(registry_login)
    folders = settings.get("shared", [])

    def mounts(spawner: Any) -> None:
        """The home (the person's, or the named server's own), then every shared folder,
        read-write only for its writers: decided at each start (DockerSpawner re-creates the
        container, `remove` is on), so a new admin or group member writes from their next start
        on."""
        home = {
            "type": "volume",
            "source": home_volume(settings, spawner.name),
            "target": spawner_settings["homeDir"],
            "labels": spawner_settings["volumeLabels"],
        }
        groups = {group.name for group in spawner.user.groups}
        spawner.mounts = [home] + [shared_mount(f, spawner.user.admin, groups) for f in folders]

    hooks.append(mounts)

    def pre_spawn(spawner: Any) -> None:
        for hook in hooks:
            hook(spawner)

    c.Spawner.pre_spawn_hook = pre_spawn


def may_write(folder: SharedFolderSettings, admin: bool, groups: set[str]) -> bool:
    writers = folder["writers"]
    return writers["everyone"] or (writers["admins"] and admin) or bool(groups & set(writers["groups"]))


def shared_mount(folder: SharedFolderSettings, admin: bool, groups: set[str]) -> dict[str, Any]:
    """A docker-py Mount's arguments, as DockerSpawner's `mounts` takes them."""
    return {
        "type": folder["type"],
        "source": folder["source"],
        "target": folder["target"],
        "read_only": not may_write(folder, admin, groups),
    }


# jupyter-server's own _xsrf cookie takes its options from the server's tornado settings only;
# a Python literal, as traitlets parses a Dict on the command line.
SERVER_SECURE_XSRF = "--ServerApp.tornado_settings={'xsrf_cookie_kwargs': {'secure': True}}"


def secure_cookies(c: Config) -> None:
    """Every cookie Secure, whatever protocol a request seems to come by. JupyterHub marks its
    login cookies Secure only for a request it sees as HTTPS, and its _xsrf cookies (the hub's
    and the servers') never, unless configured: `cookie_options` is the default of the hub's
    `xsrf_cookie_kwargs` (jupyterhub/app.py `init_tornado_settings`)."""
    c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
    args = list(c.Spawner["args"]) if "args" in c.Spawner else []
    c.Spawner.args = [*args, SERVER_SECURE_XSRF]


def configure(c: Config, settings: Settings, secrets: Secrets) -> None:
    """Everything the hub needs from the two documents, onto `c`."""
    _hub_and_proxy(c, settings, secrets)
    auth = settings["auth"]
    try:
        applier = AUTH_APPLIERS[auth["type"]]
    except KeyError:
        raise ValueError(f"settings.json: unknown auth.type {auth['type']!r}") from None
    applier(auth, secrets, c)
    _spawner(c, settings, secrets)
    configure_servers(c, settings, secrets)
    groups_and_roles(c, settings)
    branding(c, settings)
    configure_throughput(c)
    if settings["https"]:
        secure_cookies(c)
    # hub.extraConfig last: what the stack config does not model, as the person wrote it.
    for class_name, traits in settings.get("extraConfig", {}).items():
        for trait, value in traits.items():
            c[class_name][trait] = value


def load(settings_file: str, secrets_file: str) -> tuple[Settings, Secrets]:
    settings: Settings = json.loads(Path(settings_file).read_text())
    secrets: Secrets = json.loads(Path(secrets_file).read_text())
    return settings, secrets
