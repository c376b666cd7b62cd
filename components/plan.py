"""Everything derived from the stack config before the first resource is registered.

Files are read and checked, build contexts resolved, URLs and ports fixed here, so a bad value
fails `pulumi preview` with nothing registered, and the deployment only wires resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, NotebookImageConfig, StackConfig
from .config_files import read_acme_ca_root, read_allowed_users, read_auth_ca
from .connection import ConnectionFiles
from .engine_check import check_engine
from .host import PublishedPort
from .images import BuildSpec, common_build_args, hub_jupyterhub_version
from .naming import StackNames


@dataclass(frozen=True)
class NotebookPlan:
    config: NotebookImageConfig
    slug: str  # names its resources and its repository
    build: BuildSpec | None


@dataclass(frozen=True)
class DeploymentPlan:
    url: str  # the public URL users open
    local_address: str  # where the machine running Pulumi reaches the published ports
    reachable_from_here: bool  # False: published only on a remote host's loopback
    http_port: int
    hub_version: str
    hub_build: BuildSpec
    notebooks: tuple[NotebookPlan, ...]
    default_notebook: NotebookPlan
    allowed_users_from_file: list[str]
    auth_ca_pem: str | None
    acme_ca_root_pem: str | None
    published_ports: list[PublishedPort]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "image"


def plan_deployment(config: StackConfig, names: StackNames, project_dir: Path) -> DeploymentPlan:
    # The engine must answer before the provider is configured (its own ping says less).
    check_engine(config)
    ConnectionFiles(names.stack).write(config, project_dir)
    build_args = common_build_args(config.images, project_dir)
    hub_version = hub_jupyterhub_version(project_dir)
    hub_build = BuildSpec(
        repository=names.hub_image, project_dir=project_dir, context="hub", build_args=build_args
    )
    hub_build.checked_context("hub")

    registry = f"localhost:{config.registry.port}" if config.registry.enabled else None
    listed = bool(config.notebook.images)
    notebooks = []
    slugs: dict[str, str] = {}
    for index, entry in enumerate(config.notebook.effective_images):
        slug = _slug(entry.name)
        if slug in slugs:
            raise ConfigError(
                f"invalid stack config:\n  notebook.images: {slugs[slug]!r} and {entry.name!r} differ "
                "only in case or punctuation; give them distinct names"
            )
        slugs[slug] = entry.name
        build = None
        if entry.build is not None:
            build = BuildSpec(
                repository=names.notebook_repository(slug, registry),
                project_dir=project_dir,
                context=entry.build.context,
                dockerfile=entry.build.dockerfile,
                # The hub's JupyterHub version, so the single-user server always matches it.
                build_args={**build_args, "JUPYTERHUB_VERSION": hub_version, **entry.build.args},
            )
            build.checked_context(f"notebook.images[{index}].build" if listed else "notebook.build")
        notebooks.append(NotebookPlan(config=entry, slug=slug, build=build))

    tls, publish = config.tls, config.publish
    http_port = publish.http_port(tls)
    remote = config.remote_address
    reachable = True
    if publish.address == "0.0.0.0":
        local_address = remote or "127.0.0.1"
    elif remote is not None and publish.is_loopback:
        local_address, reachable = "127.0.0.1", False  # only on the remote host itself
    else:
        local_address = publish.address
    if tls.enabled:
        https_suffix = "" if publish.https_port == 443 else f":{publish.https_port}"
        url = f"https://{tls.domain}{https_suffix}/"
    else:
        url = f"http://{local_address}:{http_port}/"
    return DeploymentPlan(
        url=url,
        local_address=local_address,
        reachable_from_here=reachable,
        http_port=http_port,
        hub_version=hub_version,
        hub_build=hub_build,
        notebooks=tuple(notebooks),
        default_notebook=next(n for n in notebooks if n.config == config.notebook.default_image),
        allowed_users_from_file=read_allowed_users(config.auth, project_dir),
        auth_ca_pem=read_auth_ca(config.auth, project_dir),
        acme_ca_root_pem=read_acme_ca_root(tls, project_dir),
        published_ports=[
            PublishedPort(key, address, port) for key, address, port in config.published_ports()
        ],
    )
