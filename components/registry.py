"""A local image registry on the Docker host (Distribution, `registry:2`).

Built notebook images are pushed to it and spawned from it; with credentials it requires
htpasswd authentication, and the hub logs in to pull. Its storage is a named volume, kept with
the stack's data. Deleting tags is enabled so the documented garbage collection can reclaim
images no longer in the config (scripts/registry_gc.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import bcrypt
import pulumi
import pulumi_docker as docker

from components.docker_inputs import as_secret
from components.host import DockerHost, Healthcheck
from host_scripts import wait_until_ready
from plan.host import PublishedPort
from plan.naming import LABEL_ROLE, StackNames

CONFIG_FILE = "/etc/docker/registry/config.yml"
HTPASSWD_FILE = "/etc/docker/registry/htpasswd"
STORAGE_DIR = "/var/lib/registry"
PORT = 5000
WAIT_TIMEOUT_SECONDS = 60
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


@dataclass(frozen=True)
class RegistryArgs:
    host: DockerHost
    names: StackNames
    image: str
    publish: PublishedPort
    # htpasswd credentials (username, password), or none: an open registry.
    credentials: tuple[str, str] | None
    keep_data: bool
    # How engines reach it: localhost:<port>, or on a swarm the address every node reaches.
    server: str


# `/` answers 200 with or without htpasswd (the upstream image is Alpine, whose busybox has wget).
_PROBE = ["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{PORT}/"]


class Registry(pulumi.ComponentResource):
    """The registry container and its storage. `ready` returns once the registry answers on the
    Docker host, so pushes can depend on it, on a remote host as well as here."""

    server: str  # how the Docker engine reaches it: localhost:<port>
    container: docker.Container
    ready: pulumi.Resource

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:Registry", name, None, opts)
        host, names = args.host, args.names
        pulled = host.pull(self, f"{name}-image", args.image)
        storage = host.volume(
            self,
            f"{name}-storage",
            name=names.registry_volume,
            labels={**names.labels, LABEL_ROLE: "registry-storage"},
            keep=args.keep_data,
        )
        uploads = [
            docker.ContainerUploadArgs(file=CONFIG_FILE, content=render_config(args.credentials is not None))
        ]
        if args.credentials is not None:
            line = htpasswd_line(names.stack, *args.credentials)
            uploads.append(
                docker.ContainerUploadArgs(
                    file=HTPASSWD_FILE, content=as_secret(pulumi.Output.from_input(line))
                )
            )
        container = host.container(
            self,
            f"{name}-container",
            name=names.registry,
            role="registry",
            # `up` waits with `ready` below.
            healthcheck=Healthcheck(tuple(_PROBE)),
            image=pulled,
            command=["registry", "serve", CONFIG_FILE],
            volumes=[docker.ContainerVolumeArgs(volume_name=storage, container_path=STORAGE_DIR)],
            uploads=uploads,
            # The engine pushes and pulls through localhost, which Docker allows over plain HTTP
            # (on a swarm, by an address each node's engine must trust: docs/how-to/swarm.md).
            ports=[
                docker.ContainerPortArgs(internal=PORT, external=args.publish.port, ip=args.publish.address)
            ],
        )
        # Answering, probed inside the container on the Docker host (a remote one too): what
        # pushes wait for.
        self.ready = wait_until_ready(
            f"{name}-ready",
            host.command_env,
            names.registry,
            _PROBE,
            "answering",
            WAIT_TIMEOUT_SECONDS,
            container.id,
            self,
        )
        self.server = args.server
        self.container = container
        self.register_outputs({"server": self.server})
