"""Images: the hub image and the notebook images, built on the Docker host (from the plan's
build specs, plan/build.py) or pulled, and checked against the hub's JupyterHub major."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.host import DockerHost
from host_scripts import run_script
from plan.build import (
    JUPYTERHUB_VERSION_LABEL,
    BuildSpec,
    own_notebook_build,
)


@dataclass(frozen=True)
class RegistryPush:
    """Push built images to the stack's registry, with its credentials, once it answers
    (`registry`: the step that saw it answer, components/registry.py)."""

    server: str
    username: str | None
    password: pulumi.Output[str] | None
    registry: pulumi.Resource


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
