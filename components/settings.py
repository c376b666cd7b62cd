"""The hub's settings document: the validated stack config, as the hub image reads it.

Only non-secret values go here; secrets travel separately (see `hub_secrets`).
"""

from __future__ import annotations

from typing import Any

from .config import NativeAuth, SharedPasswordAuth, StackConfig
from .naming import LABEL_ROLE, StackNames

HUB_PORT = 8081


def render_settings(
    config: StackConfig, names: StackNames, *, notebook_image: str, proxy_api_url: str
) -> dict[str, Any]:
    auth = config.auth
    auth_settings: dict[str, Any] = {
        "type": auth.type,
        "admins": sorted(auth.admins),
        "allowedUsers": sorted(auth.allowed_users),
        "allowAll": auth.allow_all,
    }
    if isinstance(auth, NativeAuth):
        auth_settings["native"] = {
            "openSignup": auth.open_signup,
            "minimumPasswordLength": auth.minimum_password_length,
        }
    return {
        "stack": {"project": names.project, "name": names.stack},
        "hub": {"host": names.hub, "port": HUB_PORT},
        "proxy": {"apiUrl": proxy_api_url},
        "auth": auth_settings,
        "spawner": {
            "image": notebook_image,
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
    return secrets
