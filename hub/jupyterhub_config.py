"""The one static JupyterHub configuration of the hub image.

Nothing here is stack-specific. The Pulumi program renders the validated stack config into
/etc/jupyterhub/settings.json and uploads the secrets into /run/jhub/secrets.json; this file
only maps those two documents onto JupyterHub's traits. Keeping it static means no Python is
ever generated from strings, and the same image serves every stack.
"""

import json
import os
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any

SETTINGS_FILE = Path(os.environ.get("JHUB_SETTINGS_FILE", "/etc/jupyterhub/settings.json"))
SECRETS_FILE = Path(os.environ.get("JHUB_SECRETS_FILE", "/run/jhub/secrets.json"))
DATA_DIR = Path("/srv/jupyterhub/data")
DISCOVERY_TIMEOUT = 120  # seconds the hub waits at start for the OIDC provider's discovery

settings = json.loads(SETTINGS_FILE.read_text())
secrets = json.loads(SECRETS_FILE.read_text())

c = get_config()  # type: ignore[name-defined]

# --- hub and proxy -------------------------------------------------------------------------
# The proxy runs in its own container so user traffic keeps flowing while the hub restarts;
# the hub only talks to its REST API.
# An explicit bind URL: with hub_ip alone, JupyterHub 6 binds only the address its connect
# host resolves to, and the container's healthcheck on 127.0.0.1 would never succeed.
c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{settings['hub']['port']}"
c.JupyterHub.hub_connect_url = f"http://{settings['hub']['host']}:{settings['hub']['port']}"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = settings["proxy"]["apiUrl"]
c.ConfigurableHTTPProxy.auth_token = secrets["proxyAuthToken"]

# The database and the cookie secret live on the stack's data volume, so logins and users
# survive a restart or a replacement of the hub container.
c.JupyterHub.db_url = f"sqlite:///{DATA_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(DATA_DIR / "jupyterhub_cookie_secret")
# Stopping the hub must not stop the users' servers.
c.JupyterHub.cleanup_servers = False

# --- authentication ------------------------------------------------------------------------
auth = settings["auth"]
kind = auth["type"]
if kind != "anonymous":
    c.Authenticator.admin_users = set(auth["admins"])
    c.Authenticator.allowed_users = set(auth["allowedUsers"])
    c.Authenticator.allow_all = auth["allowAll"]


def oidc_endpoints(oidc: dict[str, Any]) -> tuple[str, str, str]:
    """The provider's endpoints: explicit, or from its discovery document (read at start)."""
    if not oidc["issuer"]:
        return oidc["authorizeUrl"], oidc["tokenUrl"], oidc["userinfoUrl"]
    context = ssl.create_default_context(cafile=oidc["caFile"]) if oidc["caFile"] else None
    url = oidc["issuer"] + "/.well-known/openid-configuration"
    # The provider may come up after the hub (a host reboot starts containers in any order):
    # retry for a while instead of crash-looping, then fail with the reason.
    deadline = time.monotonic() + DISCOVERY_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10, context=context) as response:
                discovery = json.load(response)
            break
        except (OSError, ValueError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"OIDC discovery at {url} failed: {exc}") from exc
            print(f"OIDC discovery at {url} failed ({exc}); retrying", flush=True)
            time.sleep(2)
    return discovery["authorization_endpoint"], discovery["token_endpoint"], discovery["userinfo_endpoint"]


async def ldap_admin_groups_hook(
    authenticator: Any, handler: Any, auth_model: dict[str, Any]
) -> dict[str, Any]:
    """Members of auth.adminGroups are admins; LDAPAuthenticator itself only filters by group."""
    groups = set((auth_model.get("auth_state") or {}).get("ldap_groups", []))
    if groups & set(auth["ldap"]["adminGroups"]):
        auth_model["admin"] = True
    return auth_model


if kind == "shared-password":
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = secrets["sharedPassword"]
    if secrets.get("adminPassword"):
        c.SharedPasswordAuthenticator.admin_password = secrets["adminPassword"]
elif kind == "native":
    import nativeauthenticator

    native = auth["native"]
    c.JupyterHub.authenticator_class = "native"
    c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
    c.NativeAuthenticator.enable_signup = native["signup"]
    c.NativeAuthenticator.open_signup = native["openSignup"]
    c.NativeAuthenticator.minimum_password_length = native["minimumPasswordLength"]
    c.NativeAuthenticator.allowed_failed_logins = native["allowedFailedLogins"]
    c.NativeAuthenticator.seconds_before_next_try = native["lockoutSeconds"]
elif kind == "firstuse":
    c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
    # The password store lives on the data volume, next to the hub database.
    c.FirstUseAuthenticator.dbm_path = str(DATA_DIR / "firstuse-passwords.dbm")
    c.FirstUseAuthenticator.min_password_length = auth["firstuse"]["minimumPasswordLength"]
elif kind == "github":
    github = auth["github"]
    c.JupyterHub.authenticator_class = "github"
    c.GitHubOAuthenticator.client_id = github["clientId"]
    c.GitHubOAuthenticator.client_secret = secrets["clientSecret"]
    c.GitHubOAuthenticator.oauth_callback_url = github["callbackUrl"]
    c.GitHubOAuthenticator.scope = github["scopes"]
    c.GitHubOAuthenticator.allowed_organizations = set(github["allowedOrganizations"])
elif kind == "oidc":
    oidc = auth["oidc"]
    authorize_url, token_url, userinfo_url = oidc_endpoints(oidc)
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.login_service = "OpenID Connect"
    c.GenericOAuthenticator.client_id = oidc["clientId"]
    c.GenericOAuthenticator.client_secret = secrets["clientSecret"]
    c.GenericOAuthenticator.oauth_callback_url = oidc["callbackUrl"]
    c.GenericOAuthenticator.authorize_url = authorize_url
    c.GenericOAuthenticator.token_url = token_url
    c.GenericOAuthenticator.userdata_url = userinfo_url
    c.GenericOAuthenticator.scope = oidc["scopes"]
    c.GenericOAuthenticator.username_claim = oidc["usernameClaim"]
    if oidc["caFile"]:
        c.GenericOAuthenticator.http_request_kwargs = {"ca_certs": oidc["caFile"]}
    if oidc["allowedGroups"] or oidc["adminGroups"]:
        # manage_groups first: the group settings refuse to be set without it.
        c.GenericOAuthenticator.manage_groups = True
        c.GenericOAuthenticator.auth_state_groups_key = f"oauth_user.{oidc['groupsClaim']}"
        c.GenericOAuthenticator.allowed_groups = set(oidc["allowedGroups"])
        c.GenericOAuthenticator.admin_groups = set(oidc["adminGroups"])
elif kind == "ldap":
    ldap = auth["ldap"]
    c.JupyterHub.authenticator_class = "ldapauthenticator.LDAPAuthenticator"
    c.LDAPAuthenticator.server_address = ldap["serverAddress"]
    if ldap["serverPort"]:
        c.LDAPAuthenticator.server_port = ldap["serverPort"]
    c.LDAPAuthenticator.tls_strategy = ldap["tlsStrategy"]
    # ldap3 does not verify the server's certificate unless told to.
    tls: dict[str, Any] = {"validate": ssl.CERT_REQUIRED}
    if ldap["caFile"]:
        tls["ca_certs_file"] = ldap["caFile"]
    c.LDAPAuthenticator.tls_kwargs = tls
    if ldap["bindDnTemplates"]:
        c.LDAPAuthenticator.bind_dn_template = ldap["bindDnTemplates"]
    if ldap["lookup"]:
        lookup = ldap["lookup"]
        c.LDAPAuthenticator.lookup_dn = True
        c.LDAPAuthenticator.user_search_base = lookup["searchBase"]
        c.LDAPAuthenticator.user_attribute = lookup["userAttribute"]
        # Keep the login name as the username, not the entry's cn.
        c.LDAPAuthenticator.lookup_dn_user_dn_attribute = lookup["userAttribute"]
        if lookup["searchUser"]:
            c.LDAPAuthenticator.lookup_dn_search_user = lookup["searchUser"]
            c.LDAPAuthenticator.lookup_dn_search_password = secrets["ldapSearchPassword"]
    # Admin groups are searched too, so their members get in and can be promoted.
    groups = sorted(set(ldap["allowedGroups"]) | set(ldap["adminGroups"]))
    if groups:
        c.LDAPAuthenticator.allowed_groups = groups
    if ldap["adminGroups"]:
        c.Authenticator.post_auth_hook = ldap_admin_groups_hook
elif kind == "anonymous":
    c.JupyterHub.authenticator_class = "tmp"
    # TmpAuthenticator 1.0.0 predates JupyterHub 5's explicit allow config: without this every
    # generated user is "not allowed" and /hub/tmplogin fails with a 500.
    c.TmpAuthenticator.allow_all = True
else:
    raise ValueError(f"settings.json: unknown auth.type {kind!r}")

# --- user servers --------------------------------------------------------------------------
spawner = settings["spawner"]
c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = spawner["image"]
if len(spawner["images"]) > 1:
    # A choice in the spawn form; DockerSpawner refuses any image not in this list.
    c.DockerSpawner.allowed_images = spawner["images"]
c.DockerSpawner.network_name = spawner["network"]
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.prefix = spawner["containerPrefix"]
c.DockerSpawner.name_template = "{prefix}-{username}"
# Containers are disposable; the home volume is what persists.
c.DockerSpawner.remove = True
c.DockerSpawner.notebook_dir = spawner["homeDir"]
# Every object created at run time carries the stack's labels, so `pulumi destroy` can find
# the containers and home volumes it never created itself.
c.DockerSpawner.extra_create_kwargs = {"labels": spawner["labels"]}
c.DockerSpawner.mounts = [
    {
        "type": "volume",
        "source": spawner["volumePrefix"] + "-{username}",
        "target": spawner["homeDir"],
        "labels": spawner["volumeLabels"],
    }
]
c.DockerSpawner.mem_limit = spawner["memLimit"]
c.DockerSpawner.cpu_limit = spawner["cpuLimit"]
c.Spawner.start_timeout = spawner["startTimeout"]
c.Spawner.http_timeout = spawner["startTimeout"]

# --- the stack's registry ------------------------------------------------------------------
registry = settings.get("registry")
if registry and registry.get("username"):

    def registry_login(spawner: Any) -> None:
        """Log DockerSpawner's client in, so an image missing on the host is pulled with the
        registry's credentials (images are normally present: built before the hub starts)."""
        spawner.client.login(
            username=registry["username"], password=secrets["registryPassword"], registry=registry["server"]
        )

    c.Spawner.pre_spawn_hook = registry_login
