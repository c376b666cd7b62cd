"""Images: the hub image and the notebook image, built on the Docker host or pulled.

Built images are tagged with a hash of their build context and build args, so the reference
the containers use changes exactly when the image content can change: a second `pulumi up`
with the same inputs registers the same tag and rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_docker as docker

from components.host import DockerHost
from config.files import read_pem_file
from config.stack import ImagesConfig, config_problem, resolve_path
from host_scripts import run_script
from plan.dockerignore import context_files


def context_hash(context: Path, dockerfile: str, build_args: dict[str, str]) -> str:
    """The image's tag: a digest of what the provider hashes to decide on a rebuild (the
    Dockerfile, then every file `.dockerignore` lets through, with its mode) and of the build
    args. So the tag changes exactly when pulumi-docker would build again: an ignored file
    changes neither, a `chmod` changes both."""
    digest = hashlib.sha256()
    dockerfile_path = context / dockerfile
    digest.update(b"Dockerfile\0" + dockerfile_path.read_bytes() + b"\0")
    for relative, path in context_files(context, dockerfile_path):
        _add_file(digest, relative, path)
    digest.update(json.dumps([dockerfile, build_args], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def directory_digest(directory: Path) -> str:
    """A digest of every file under `directory`: relative names, modes and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() or p.is_symlink()):
        _add_file(digest, path.relative_to(directory).as_posix(), path)
    return digest.hexdigest()[:16]


def _add_file(digest: Any, relative: str, path: Path) -> None:
    """A file's name, mode and content (a symlink's target) into `digest`."""
    info = path.lstat()
    content = os.readlink(path).encode() if stat.S_ISLNK(info.st_mode) else path.read_bytes()
    digest.update(f"{relative}\0{stat.filemode(info.st_mode)}\0".encode())
    digest.update(hashlib.sha256(content).digest())


def hub_jupyterhub_version(project_dir: Path) -> str:
    """The JupyterHub version pinned for the hub: the one every notebook image must match."""
    requirements = (project_dir / "hub" / "requirements.txt").read_text()
    match = re.search(r"^jupyterhub==([0-9][^\s#]*)", requirements, re.MULTILINE)
    if not match:
        raise config_problem("hub/requirements.txt", "must pin jupyterhub==<version>")
    return match.group(1)


def common_build_args(images: ImagesConfig, project_dir: Path) -> dict[str, str]:
    """Build args every image build gets: base image, package index, extra CA certificates."""
    args = {"BASE_IMAGE": images.resolved("base")}
    if images.pip_index_url:
        args["PIP_INDEX_URL"] = images.pip_index_url
    if images.ca_certificates_file:
        pem = read_pem_file(project_dir, images.ca_certificates_file, "images.caCertificatesFile")
        args["EXTRA_CA_CERTS"] = pem.strip()
    return args


@dataclass(frozen=True)
class RegistryPush:
    """Push built images to the stack's registry, with its credentials, once it answers
    (`registry`: the step that saw it answer, components/registry.py)."""

    server: str
    username: str | None
    password: pulumi.Output[str] | None
    registry: pulumi.Resource


@dataclass(frozen=True)
class BuildSpec:
    """An image to build, checked and tagged by the plan step before anything is registered."""

    repository: str
    context: str  # relative to the project directory, as pulumi-docker resolves it
    dockerfile: str
    build_args: dict[str, str]
    tag: str  # the content hash (context_hash)

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


def build_spec(
    project_dir: Path,
    key: str,
    *,
    repository: str,
    context: str,
    dockerfile: str = "Dockerfile",
    build_args: dict[str, str],
) -> BuildSpec:
    """Check the context and its Dockerfile (`key` names them in the config) and tag the build."""
    directory = resolve_path(project_dir, context, f"{key}.context")
    if not (directory / dockerfile).is_file():
        raise config_problem(f"{key}.dockerfile", f"no {dockerfile!r} in {directory}")
    return BuildSpec(
        repository=repository,
        context=context,
        dockerfile=dockerfile,
        build_args=build_args,
        tag=context_hash(directory, dockerfile, build_args),
    )


@dataclass(frozen=True)
class BuiltImageArgs:
    host: DockerHost
    spec: BuildSpec
    push: RegistryPush | None


class BuiltImage(pulumi.ComponentResource):
    """An image built on the Docker host from a context directory, tagged by content, and
    pushed to the stack's registry when there is one."""

    ref: pulumi.Output[str]

    def __init__(self, name: str, args: BuiltImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:BuiltImage", name, None, opts)
        host, spec, push = args.host, args.spec, args.push
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
            image_name=spec.ref,
            build=build,
            skip_push=push is None,
            registry=None
            if push is None
            else docker.RegistryArgs(server=push.server, username=push.username, password=push.password),
            opts=host.child_opts(self, depends_on=[] if push is None else [push.registry]),
        )
        self.ref = image.image_name
        self.register_outputs({"ref": self.ref})


# notebook/Dockerfile installs jupyterhub==$JUPYTERHUB_VERSION and labels the image with it.
PROJECT_NOTEBOOK_CONTEXT = "notebook"
JUPYTERHUB_VERSION_LABEL = "org.jupyter.jupyterhub.version"


def own_notebook_build(source: BuildSpec | str) -> bool:
    """Whether the image is built from this project's notebook/ context and Dockerfile, whose
    label states the JupyterHub version it installed (any other image is asked at `up`)."""
    return (
        isinstance(source, BuildSpec)
        and posixpath.normpath(source.context) == PROJECT_NOTEBOOK_CONTEXT
        and source.dockerfile == "Dockerfile"
    )


@dataclass(frozen=True)
class NotebookImageArgs:
    host: DockerHost
    source: BuildSpec | str  # built, or pulled by reference
    hub_version: str  # the JupyterHub version the image must match (major)
    push: RegistryPush | None


class NotebookImage(pulumi.ComponentResource):
    """A single-user image, built or pulled, checked against the hub's JupyterHub major."""

    ref: pulumi.Output[str]

    def __init__(
        self, name: str, args: NotebookImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-docker:index:NotebookImage", name, None, opts)
        host = args.host
        if isinstance(args.source, BuildSpec):
            built = BuiltImageArgs(host=host, spec=args.source, push=args.push)
            ref = BuiltImage(f"{name}-build", built, pulumi.ResourceOptions(parent=self)).ref
        else:
            ref = host.pull(self, f"{name}-pull", args.source)
        label = {"JHUB_VERSION_LABEL": JUPYTERHUB_VERSION_LABEL} if own_notebook_build(args.source) else {}
        check = run_script(
            f"{name}-version-check",
            "check_jupyterhub_version",
            {**host.command_env, "JHUB_IMAGE": ref, "JHUB_EXPECTED_VERSION": args.hub_version, **label},
            pulumi.ResourceOptions(parent=self),
            triggers=[ref],
        )
        # Consumers get the reference only once the check has passed.
        self.ref = pulumi.Output.all(ref, check.stdout).apply(lambda values: str(values[0]))
        self.register_outputs({"ref": self.ref})
