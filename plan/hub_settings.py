"""The hub's two documents (hub/contract.py), rendered from the validated stack config, and
completed here too with what only the deployment knows.

The plan step renders both (`render_settings`, `render_secrets`) before anything registers;
what Pulumi makes later, the notebook images' tags and the generated tokens, is added by
`settings_document` and `secrets_document`, which the deployment calls with them. The settings
hold nothing secret; the secrets are only ever handled inside a secret Output. Each auth mode
renders its own part (config/auth.py).
"""

from __future__ import annotations

import json

from config.auth import AuthContext
from config.branding import BrandingConfig
from config.files import BrandingFiles
from config.servers import CullerConfig, ProfileConfig, memory_guarantee
from config.shared import SharedFolderConfig
from config.stack import StackConfig
from hub.contract import (
    BRANDING_TEMPLATES_DIR,
    HUB_PORT,
    BrandingSettings,
    CullerSettings,
    GpuSettings,
    ProfileSettings,
    RegistrySettings,
    Secrets,
    Settings,
    SharedFolderSettings,
    branding_logo_file,
)
from plan.naming import LABEL_ROLE, StackNames


def render_settings(
    config: StackConfig,
    names: StackNames,
    *,
    notebook_images: dict[str, str],
    default_image: str,
    proxy_api_url: str,
    auth_context: AuthContext,
    registry: RegistrySettings | None,
    branding_files: BrandingFiles | None = None,
) -> Settings:
    settings: Settings = {
        "stack": {"project": names.project, "name": names.stack},
        "https": config.tls.enabled or config.tls.behind_tls_terminator,
        "hub": {"host": names.hub, "port": HUB_PORT},
        "proxy": {"apiUrl": proxy_api_url},
        "auth": config.auth.hub_settings(auth_context),
        "registry": registry,
        "spawner": {
            "orchestrator": config.orchestrator,
            "image": default_image,
            "images": dict(sorted(notebook_images.items())),
            # Behind the stack's firewall, servers join only the users network.
            "network": names.users_network if config.network.isolation else names.network,
            "containerPrefix": names.user_container_prefix,
            "volumePrefix": names.user_volume_prefix,
            "homeDir": config.spawner.home_dir,
            "engineSocket": config.engine_socket,
            "memLimit": config.spawner.mem_limit,
            "memGuarantee": config.spawner.effective_mem_guarantee,
            "cpuLimit": config.spawner.cpu_limit,
            "startTimeout": config.spawner.start_timeout,
            "kernelTimeout": config.culler.kernel_timeout,
            "concurrentSpawnLimit": config.spawner.concurrent_spawn_limit,
            "activeServerLimit": config.spawner.active_server_limit,
            # Volumes and containers get different roles so the destroy cleanup can keep one.
            "labels": {**names.labels, LABEL_ROLE: "user-server"},
            "volumeLabels": {**names.labels, LABEL_ROLE: "user-home"},
            "pidsLimit": config.spawner.pids_limit,
            "readOnlyRootFilesystem": config.spawner.read_only_root_filesystem,
            "startsAsRoot": config.spawner.starts_as_root,
        },
        "culler": _culler(config.culler) if config.culler.enabled else None,
        "namedServers": {
            "limit": config.named_servers.limit,
            "sharedHome": config.named_servers.shared_home,
        },
    }
    if config.profiles:
        settings["profiles"] = [_profile(p, config) for p in config.profiles]
    if config.workshop.prestart:
        settings["prestart"] = {
            "users": settings["auth"].get("allowedUsers", []),
            "concurrency": config.workshop.prestart_concurrency,
        }
    if config.shared:
        settings["shared"] = [_shared_folder(entry, names) for entry in config.shared]
    if config.groups:
        settings["groups"] = {name: sorted(set(members)) for name, members in sorted(config.groups.items())}
    if config.roles:
        settings["roles"] = [
            {
                "name": role.name,
                "description": role.description,
                "scopes": list(role.scopes),
                "users": sorted(set(role.users)),
                "groups": sorted(set(role.groups)),
            }
            for role in config.roles
        ]
    if config.branding.enabled:
        settings["branding"] = _branding(config.branding, branding_files)
    if config.hub.extra_config:
        settings["extraConfig"] = config.hub.extra_config
    return settings


def _culler(culler: CullerConfig) -> CullerSettings:
    return {
        "timeout": culler.timeout,
        "every": culler.every,
        "maxAge": culler.max_age,
        "cullUsers": culler.cull_users,
        "prestartGrace": culler.prestart_grace,
    }


def _gpus(gpus: str | int | tuple[str, ...] | None) -> GpuSettings | None:
    if gpus is None:
        return None
    if gpus == "all":
        return {"count": -1, "deviceIds": []}
    if isinstance(gpus, int):
        return {"count": gpus, "deviceIds": []}
    return {"count": 0, "deviceIds": list(gpus)}


def profile_memory(profile: ProfileConfig, config: StackConfig) -> tuple[str, str]:
    """A profile's memory limit and guarantee: its own, or the spawner's (a guarantee no larger
    than the profile's limit)."""
    limit = profile.mem_limit or config.spawner.mem_limit
    return limit, memory_guarantee(profile.mem_guarantee, config.spawner.effective_mem_guarantee, limit)


def _profile(profile: ProfileConfig, config: StackConfig) -> ProfileSettings:
    access = profile.allowed
    limit, guarantee = profile_memory(profile, config)
    return {
        "name": profile.name,
        "displayName": profile.display_name or profile.name,
        "description": profile.description,
        "image": profile.image or config.notebook.default_image.name,
        "memLimit": limit,
        "memGuarantee": guarantee,
        "cpuLimit": profile.cpu_limit or config.spawner.cpu_limit,
        "gpus": _gpus(profile.gpus),
        "environment": dict(profile.environment),
        "access": {
            "everyone": access is None,
            "users": [] if access is None else sorted(access.users),
            "groups": [] if access is None else sorted(access.groups),
            "admins": access is not None and access.admins,
        },
        "default": profile.default,
        "placement": list(profile.placement),
        "startsAsRoot": (
            config.spawner.starts_as_root if profile.starts_as_root is None else profile.starts_as_root
        ),
    }


def _branding(branding: BrandingConfig, files: BrandingFiles | None) -> BrandingSettings:
    if (branding.logo or branding.templates) and files is None:
        raise ValueError("render_settings: branding.logo/templates set, but their files were not read")
    return {
        "logo": branding_logo_file(files.logo[1]) if files and files.logo else None,
        "templates": BRANDING_TEMPLATES_DIR if files and files.templates else None,
        "loginText": branding.login_text,
        "announcement": branding.announcement,
    }


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


def settings_document(settings: Settings, notebook_images: dict[str, str], default: str) -> str:
    """settings.json: the plan's settings with the notebook images' references (`default`'s the
    spawner's image), known once Pulumi has built or pulled them."""
    spawner = {
        **settings["spawner"],
        "image": notebook_images[default],
        "images": dict(sorted(notebook_images.items())),
    }
    return json.dumps({**settings, "spawner": spawner}, indent=2, sort_keys=True)


# The secrets Pulumi generates (random.RandomPassword), which the plan leaves out.
GENERATED_SECRETS = ("proxyAuthToken", "metricsToken", "prestartToken")


def plan_secrets(config: StackConfig) -> dict[str, str]:
    """The secrets the plan knows: all but GENERATED_SECRETS."""
    rendered = render_secrets(config, dict.fromkeys(GENERATED_SECRETS, ""))
    return {key: str(value) for key, value in rendered.items() if key not in GENERATED_SECRETS}


def secrets_document(secrets: dict[str, str], generated: dict[str, str]) -> str:
    """secrets.json: the plan's secrets (`plan_secrets`) and the ones Pulumi generated."""
    if set(generated) != set(GENERATED_SECRETS):
        raise ValueError(f"generated secrets {sorted(generated)}, expected {sorted(GENERATED_SECRETS)}")
    return json.dumps({**generated, **secrets}, sort_keys=True)


def render_secrets(config: StackConfig, generated: dict[str, str]) -> Secrets:
    secrets: Secrets = {
        "proxyAuthToken": generated["proxyAuthToken"],
        "metricsToken": generated["metricsToken"],
        "prestartToken": generated["prestartToken"],
    }
    secrets.update(config.auth.hub_secrets())  # type: ignore[typeddict-item]
    if config.registry.enabled and config.registry.password is not None:
        secrets["registryPassword"] = config.registry.password.get_secret_value()
    return secrets
