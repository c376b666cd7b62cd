"""Images: the hub image and the notebook image, built on the Docker host or pulled.

Built images are tagged with a hash of their build context and build args, so the reference
the containers use changes exactly when the image content can change: a second `pulumi up`
with the same inputs registers the same tag and rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from .config import ConfigError, ImagesConfig, resolve_path
from .dockerignore import context_files
from .host import DockerHost
from .scripts import PYTHON, script


def context_hash(context: Path, dockerfile: str, build_args: dict[str, str]) -> str:
    """The image's tag: a digest of what the provider hashes to decide on a rebuild (the
    Dockerfile, then every file `.dockerignore` lets through, with its mode) and of the build
    args. So the tag changes exactly when pulumi-docker would build again: an ignored file
    changes neither, a `chmod` changes both."""
    digest = hashlib.sha256()
    dockerfile_path = context / dockerfile
    digest.update(b"Dockerfile\0" + dockerfile_path.read_bytes() + b"\0")
    for relative, path in context_files(context, dockerfile_path):
        info = path.lstat()
        content = os.readlink(path).encode() if stat.S_ISLNK(info.st_mode) else path.read_bytes()
        digest.update(f"{relative}\0{stat.filemode(info.st_mode)}\0".encode())
        digest.update(hashlib.sha256(content).digest())
    digest.update(json.dumps([dockerfile, build_args], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def hub_jupyterhub_version(project_dir: Path) -> str:
    """The JupyterHub version pinned for the hub: the one every notebook image must match."""
    requirements = (project_dir / "hub" / "requirements.txt").read_text()
    match = re.search(r"^jupyterhub==([0-9][^\s#]*)", requirements, re.MULTILINE)
    if not match:
        raise ConfigError("hub/requirements.txt must pin jupyterhub==<version>")
    return match.group(1)


def common_build_args(images: ImagesConfig, project_dir: Path) -> dict[str, str]:
    """Build args every image build gets: base image, package index, extra CA certificates."""
    args = {"BASE_IMAGE": images.resolved("base")}
    if images.pip_index_url:
        args["PIP_INDEX_URL"] = images.pip_index_url
    if images.ca_certificates_file:
        path = resolve_path(project_dir, images.ca_certificates_file, "images.caCertificatesFile")
        pem = path.read_text()
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise ConfigError(
                "invalid stack config:\n  images.caCertificatesFile: "
                f"{images.ca_certificates_file!r} holds no PEM certificate"
            )
        args["EXTRA_CA_CERTS"] = pem.strip()
    return args


@dataclass(frozen=True)
class RegistryPush:
    """Push built images to the stack's registry, with its credentials, once its container is
    up (created only when it answers)."""

    server: str
    username: str | None
    password: pulumi.Output[str] | None
    registry: pulumi.Resource


@dataclass(frozen=True)
class BuildSpec:
    repository: str
    project_dir: Path
    context: str  # relative to the project directory, as pulumi-docker resolves it
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)

    def checked_context(self, key: str) -> Path:
        """The context directory, after checking it and its Dockerfile exist."""
        context = resolve_path(self.project_dir, self.context, f"{key}.context")
        if not (context / self.dockerfile).is_file():
            raise ConfigError(
                f"invalid stack config:\n  {key}.dockerfile: no {self.dockerfile!r} in {context}"
            )
        return context


class BuiltImage(pulumi.ComponentResource):
    """An image built on the Docker host from a context directory, tagged by content, and
    pushed to the stack's registry when there is one."""

    ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        host: DockerHost,
        spec: BuildSpec,
        *,
        push: RegistryPush | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:BuiltImage", name, None, opts)
        tag = context_hash(spec.checked_context(name), spec.dockerfile, spec.build_args)
        build = docker.DockerBuildArgs(
            context=spec.context,
            dockerfile=f"{spec.context}/{spec.dockerfile}",
            args=spec.build_args,
            # For the Docker host's platform: unset, the provider's Check fills in the platform
            # of the machine running Pulumi (pulumi-docker provider/image.go; pulumi-docker#475),
            # and an arm64 laptop would build arm64 images for an amd64 server.
            platform=host.platform,
        )
        image = docker.Image(
            f"{name}-image",
            image_name=f"{spec.repository}:{tag}",
            build=build,
            skip_push=push is None,
            registry=None
            if push is None
            else docker.RegistryArgs(server=push.server, username=push.username, password=push.password),
            opts=host.child_opts(self, depends_on=[] if push is None else [push.registry]),
        )
        self.ref = image.image_name
        self.register_outputs({"ref": self.ref})


class NotebookImage(pulumi.ComponentResource):
    """A single-user image, built or pulled, checked against the hub's JupyterHub major."""

    ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        host: DockerHost,
        *,
        pull: str | None,
        build: BuildSpec | None,
        hub_version: str,
        push: RegistryPush | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:NotebookImage", name, None, opts)
        if build is not None:
            ref = BuiltImage(
                f"{name}-build", host, build, push=push, opts=pulumi.ResourceOptions(parent=self)
            ).ref
        elif pull is not None:
            ref = host.pull(self, f"{name}-pull", pull)
        else:  # the config model guarantees one of the two
            raise ConfigError("invalid stack config:\n  notebook: an image needs image or build")
        check = command.local.Command(
            f"{name}-version-check",
            create=script("check_jupyterhub_version"),
            interpreter=PYTHON,
            environment={**host.command_env, "JHUB_IMAGE": ref, "JHUB_EXPECTED_VERSION": hub_version},
            triggers=[ref],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Consumers get the reference only once the check has passed.
        self.ref = pulumi.Output.all(ref, check.stdout).apply(lambda values: str(values[0]))
        self.register_outputs({"ref": self.ref})
