"""Image builds as the plan sees them: the build spec of each image, tagged by a hash of its
build context and build args, so the reference the containers use changes exactly when the
image content can change (a second `pulumi up` with the same inputs registers the same tag and
rebuilds nothing), and the build args every build of the stack shares. The resources that
build and pull are components/images.py."""

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

from config.files import read_pem_file
from config.stack import ImagesConfig, config_problem, resolve_path
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
