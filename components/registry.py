"""A local image registry on the Docker host (Distribution, `registry:2`).

Built notebook images are pushed to it and spawned from it; with credentials it requires
htpasswd authentication, and the hub logs in to pull. Its storage is a named volume, kept with
the stack's data. Deleting tags is enabled so the documented garbage collection can reclaim
images no longer in the config (scripts/registry_gc.py).
"""

from __future__ import annotations

import hashlib
import json

import bcrypt
import pulumi
import pulumi_command as command
import pulumi_docker as docker

from .config import RegistryConfig
from .docker_inputs import as_secret, label_inputs
from .host import DockerHost
from .naming import LABEL_ROLE, StackNames
from .scripts import PYTHON, script

CONFIG_FILE = "/etc/docker/registry/config.yml"
HTPASSWD_FILE = "/etc/docker/registry/htpasswd"
STORAGE_DIR = "/var/lib/registry"
PORT = 5000
_BCRYPT_ALPHABET = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def htpasswd_line(stack: str, username: str, password: str) -> str:
    """`user:bcrypt-hash`, with a salt derived from the inputs: a random salt would change the
    file, and so replace the registry, on every `pulumi up`."""
    digest = hashlib.sha256(f"{stack}\0{username}\0{password}".encode()).digest()
    # 22 salt characters; the last carries only 2 significant bits, so use a canonical one.
    salt = b"$2b$10$" + bytes(_BCRYPT_ALPHABET[b % 64] for b in digest[:21]) + b"."
    return f"{username}:{bcrypt.hashpw(password.encode(), salt).decode()}"


def render_config(with_auth: bool) -> str:
    """The registry's config.yml (JSON is valid YAML)."""
    config: dict[str, object] = {
        "version": 0.1,
        "storage": {"filesystem": {"rootdirectory": STORAGE_DIR}, "delete": {"enabled": True}},
        "http": {"addr": f"0.0.0.0:{PORT}"},
    }
    if with_auth:
        config["auth"] = {"htpasswd": {"realm": "jupyterhub-docker", "path": HTPASSWD_FILE}}
    return json.dumps(config, indent=2, sort_keys=True)


class Registry(pulumi.ComponentResource):
    """The registry container, its storage, and a readiness check (pushes wait for it)."""

    server: str  # how the Docker engine reaches it: localhost:<port>
    ready: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        host: DockerHost,
        *,
        names: StackNames,
        config: RegistryConfig,
        image: str,
        keep_data: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:Registry", name, None, opts)
        pulled = host.pull(self, f"{name}-image", image)
        storage = host.volume(
            self,
            f"{name}-storage",
            name=names.registry_volume,
            labels={**names.labels, LABEL_ROLE: "registry-storage"},
            keep=keep_data,
        )
        uploads = [
            docker.ContainerUploadArgs(file=CONFIG_FILE, content=render_config(config.username is not None))
        ]
        if config.username is not None and config.password is not None:
            line = htpasswd_line(names.stack, config.username, config.password.get_secret_value())
            uploads.append(
                docker.ContainerUploadArgs(
                    file=HTPASSWD_FILE, content=as_secret(pulumi.Output.from_input(line))
                )
            )
        container = docker.Container(
            f"{name}-container",
            name=names.registry,
            image=pulled,
            command=["registry", "serve", CONFIG_FILE],
            volumes=[docker.ContainerVolumeArgs(volume_name=storage, container_path=STORAGE_DIR)],
            uploads=uploads,
            # The engine pushes and pulls through localhost, which Docker allows over plain HTTP.
            ports=[docker.ContainerPortArgs(internal=PORT, external=config.port, ip=config.address)],
            restart="unless-stopped",
            labels=label_inputs(docker.ContainerLabelArgs, {**names.labels, LABEL_ROLE: "registry"}),
            opts=host.child_opts(self, delete_before_replace=True),
        )
        local = "127.0.0.1" if config.address == "0.0.0.0" else config.address
        check = command.local.Command(
            f"{name}-ready",
            create=script("wait_for_registry"),
            interpreter=PYTHON,
            environment={"JHUB_REGISTRY_URL": f"http://{local}:{config.port}/v2/"},
            triggers=[container.id],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.server = f"localhost:{config.port}"
        self.container_name: pulumi.Output[str] = container.name
        self.ready = check.stdout
        self.register_outputs({"server": self.server})
