"""The hub's settings document: the validated stack config, as the hub image reads it.

Only non-secret values go here; secrets travel separately (see `hub_secrets`).
"""

from __future__ import annotations

from typing import Any

from .auth_config import (
    AnonymousAuth,
    AuthConfig,
    FirstUseAuth,
    GitHubAuth,
    LdapAuth,
    NativeAuth,
    OidcAuth,
    SharedPasswordAuth,
)
from .config import StackConfig
from .naming import LABEL_ROLE, StackNames

HUB_PORT = 8081
# Where the hub finds the CA certificates it trusts for the identity provider, when set.
AUTH_CA_FILE = "/etc/jupyterhub/auth-ca.pem"


def _auth_settings(auth: AuthConfig, allowed_users: list[str], public_url: str) -> dict[str, Any]:
    """The non-secret settings of the selected authenticator."""
    if isinstance(auth, AnonymousAuth):
        return {"type": auth.type}
    common: dict[str, Any] = {
        "type": auth.type,
        "admins": sorted(auth.admins),
        "allowedUsers": sorted(set(auth.allowed_users) | set(allowed_users)),
        "allowAll": auth.allow_all,
    }
    callback_url = f"{public_url}hub/oauth_callback"
    ca_file = AUTH_CA_FILE if isinstance(auth, (OidcAuth, LdapAuth)) and auth.ca_certificates_file else None
    if isinstance(auth, NativeAuth):
        common["native"] = {
            "signup": auth.signup,
            "openSignup": auth.open_signup,
            "minimumPasswordLength": auth.minimum_password_length,
            "allowedFailedLogins": auth.allowed_failed_logins,
            "lockoutSeconds": auth.lockout_seconds,
        }
    elif isinstance(auth, FirstUseAuth):
        common["firstuse"] = {"minimumPasswordLength": auth.minimum_password_length}
    elif isinstance(auth, GitHubAuth):
        common["github"] = {
            "clientId": auth.client_id,
            "callbackUrl": callback_url,
            "allowedOrganizations": sorted(auth.allowed_organizations),
            "scopes": auth.scopes,
        }
    elif isinstance(auth, OidcAuth):
        common["oidc"] = {
            "clientId": auth.client_id,
            "callbackUrl": callback_url,
            "issuer": auth.issuer,
            "authorizeUrl": auth.authorize_url,
            "tokenUrl": auth.token_url,
            "userinfoUrl": auth.userinfo_url,
            "scopes": list(auth.scopes),
            "usernameClaim": auth.username_claim,
            "groupsClaim": auth.groups_claim,
            "allowedGroups": sorted(auth.allowed_groups),
            "adminGroups": sorted(auth.admin_groups),
            "caFile": ca_file,
        }
    elif isinstance(auth, LdapAuth):
        lookup = auth.lookup
        common["ldap"] = {
            "serverAddress": auth.server_address,
            "serverPort": auth.server_port,
            "tlsStrategy": auth.tls_strategy,
            "bindDnTemplates": list(auth.bind_dn_templates),
            "lookup": None
            if lookup is None
            else {
                "searchBase": lookup.search_base,
                "userAttribute": lookup.user_attribute,
                "searchUser": lookup.search_user,
            },
            "allowedGroups": sorted(auth.allowed_groups),
            "adminGroups": sorted(auth.admin_groups),
            "caFile": ca_file,
        }
    return common


def render_settings(
    config: StackConfig,
    names: StackNames,
    *,
    notebook_images: dict[str, str],
    default_image: str,
    proxy_api_url: str,
    public_url: str,
    allowed_users: list[str],
    registry: dict[str, Any] | None,
) -> dict[str, Any]:
    """`allowed_users` are the names read from auth.allowedUsersFile, merged with the inline list."""
    auth_settings = _auth_settings(config.auth, allowed_users, public_url)
    return {
        "stack": {"project": names.project, "name": names.stack},
        "hub": {"host": names.hub, "port": HUB_PORT},
        "proxy": {"apiUrl": proxy_api_url},
        "auth": auth_settings,
        "registry": registry,
        "spawner": {
            "image": default_image,
            # Shown as a choice at spawn time when there is more than one; nothing else can be
            # requested.
            "images": dict(sorted(notebook_images.items())),
            "network": names.network,
            "containerPrefix": names.user_container_prefix,
            "volumePrefix": names.user_volume_prefix,
            "homeDir": config.spawner.home_dir,
            "memLimit": config.spawner.mem_limit,
            "cpuLimit": config.spawner.cpu_limit,
            "startTimeout": config.spawner.start_timeout,
            # Volumes and containers get different roles so the destroy cleanup can keep one.
            "labels": {**names.labels, LABEL_ROLE: "user-server"},
            "volumeLabels": {**names.labels, LABEL_ROLE: "user-home"},
        },
    }


def hub_secrets(config: StackConfig, proxy_auth_token: str) -> dict[str, str]:
    """The secrets document; only ever built inside a secret Output."""
    secrets = {"proxyAuthToken": proxy_auth_token}
    auth = config.auth
    if isinstance(auth, SharedPasswordAuth):
        secrets["sharedPassword"] = auth.password.get_secret_value()
        if auth.admin_password is not None:
            secrets["adminPassword"] = auth.admin_password.get_secret_value()
    elif isinstance(auth, (GitHubAuth, OidcAuth)):
        secrets["clientSecret"] = auth.client_secret.get_secret_value()
    elif isinstance(auth, LdapAuth) and auth.lookup is not None and auth.lookup.search_password is not None:
        secrets["ldapSearchPassword"] = auth.lookup.search_password.get_secret_value()
    if config.registry.enabled and config.registry.password is not None:
        secrets["registryPassword"] = config.registry.password.get_secret_value()
    return secrets
