"""The hub's two documents (hub/contract.py), rendered from the validated stack config.

`render_settings` holds nothing secret; `render_secrets` is only ever called inside a secret
Output. Each auth mode renders its own part (components/auth_config.py).
"""

from __future__ import annotations

from hub.contract import HUB_PORT, RegistrySettings, Secrets, Settings, SharedFolderSettings

from .auth_config import AuthContext
from .config import StackConfig
from .naming import LABEL_ROLE, StackNames
from .shared_config import SharedFolderConfig


def render_settings(
    config: StackConfig,
    names: StackNames,
    *,
    notebook_images: dict[str, str],
    default_image: str,
    proxy_api_url: str,
    auth_context: AuthContext,
    registry: RegistrySettings | None,
) -> Settings:
    settings: Settings = {
        "stack": {"project": names.project, "name": names.stack},
        "hub": {"host": names.hub, "port": HUB_PORT},
        "proxy": {"apiUrl": proxy_api_url},
        "auth": config.auth.hub_settings(auth_context),
        "registry": registry,
        "spawner": {
            "image": default_image,
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
    if config.shared:
        settings["shared"] = [_shared_folder(entry, names) for entry in config.shared]
    if config.hub.extra_config:
        settings["extraConfig"] = config.hub.extra_config
    return settings


def _shared_folder(entry: SharedFolderConfig, names: StackNames) -> SharedFolderSettings:
    bind = entry.source.host_path
    writers = entry.writers
    return {
        "name": entry.name,
        "target": entry.target,
        "type": "bind" if bind is not None else "volume",
        "source": bind if bind is not None else names.shared_volume(entry.name),
        "writers": {
            "everyone": not entry.read_only and writers is None,
            "admins": writers is not None and writers.admins,
            "groups": [] if writers is None else list(writers.groups),
        },
    }


def render_secrets(config: StackConfig, proxy_auth_token: str) -> Secrets:
    secrets: Secrets = {"proxyAuthToken": proxy_auth_token}
    secrets.update(config.auth.hub_secrets())  # type: ignore[typeddict-item]
    if config.registry.enabled and config.registry.password is not None:
        secrets["registryPassword"] = config.registry.password.get_secret_value()
    return secrets
