"""The Docker host: one explicit provider for the whole stack, local or remote, and the checks
that run on it before anything of the stack is created.

Default providers are disabled in Pulumi.yaml, so a resource that forgets `provider=` fails
instead of silently landing on whatever DOCKER_HOST happens to point at.

Every setting the provider would otherwise fill from the environment of whoever runs Pulumi is
given explicitly (pulumi-docker provider/provider.go `setConfiguration` fills host, certPath
and the TLS materials from DOCKER_* variables only when the key is absent; kreuzwerker's
provider takes `context` from DOCKER_CONTEXT): the user's shell cannot change a stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.docker_inputs import STOP_GRACE_SECONDS, as_secret, go_duration, label_inputs
from host_scripts import PYTHON, run_script, script
from plan.host import DockerHostArgs
from plan.naming import LABEL_ROLE, LABEL_STACK


def parse_platform(check_output: str) -> str:
    """The engine's `os/arch` from the connection check's last line (`platform linux/amd64`);
    empty when there is none (unit tests' mocks return an empty stdout), which the provider
    treats as unset."""
    lines = check_output.strip().splitlines()
    if lines and lines[-1].startswith("platform "):
        return lines[-1].removeprefix("platform ").strip()
    return ""


@dataclass(frozen=True)
class Healthcheck:
    """A stack container's healthcheck: what `docker ps` reports. The engine runs the probe for
    as long as the container lives, so it runs rarely; `up` waits with its own readiness steps."""

    test: tuple[str, ...]  # CMD form
    interval_seconds: int = 60
    start_period_seconds: int | None = None

    def args(self) -> docker.ContainerHealthcheckArgs:
        # Durations as the engine reads them back (go_duration), so a refresh finds no diff.
        start_period = self.start_period_seconds
        return docker.ContainerHealthcheckArgs(
            tests=["CMD", *self.test],
            interval=go_duration(self.interval_seconds),
            timeout=go_duration(5),
            retries=3,
            start_period=None if start_period is None else go_duration(start_period),
        )


class DockerHost(pulumi.ComponentResource):
    provider: docker.Provider
    command_env: dict[str, str]
    socket_path: str
    # The engine's platform (`linux/amd64`): what images are built for.
    platform: pulumi.Output[str]
    probe_image: pulumi.Output[str]
    preflight: list[pulumi.Resource]
    labels: dict[str, str]  # the stack's, on every object it makes

    def __init__(self, name: str, args: DockerHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jupyterhub-docker:index:DockerHost", name, None, opts)
        self.host = args.docker_host
        self.command_env = args.command_env
        self.socket_path = args.socket_path
        names = args.names
        self.labels = names.labels
        tls = args.tls
        child = pulumi.ResourceOptions(parent=self)
        # Before anything is created: can we reach the engine, as whom, with the pinned key? A
        # wrong host key, an unknown user or an unreachable host fails here, naming which.
        self.connection = command.local.Command(
            f"{name}-connection",
            create=script("check_docker_host"),
            interpreter=PYTHON,
            environment=args.check_env,
            opts=child,
        )
        self.platform = self.connection.stdout.apply(parse_platform)
        self.provider = docker.Provider(
            f"{name}-provider",
            host=self.host,
            ssh_opts=None if args.ssh_opts is None else list(args.ssh_opts),
            ca_material="" if tls is None else tls.ca,
            cert_material="" if tls is None else tls.cert,
            key_material="" if tls is None else as_secret(pulumi.Output.from_input(tls.key)),
            cert_path="",
            context="",
            opts=child,
        )
        probe = docker.RemoteImage(
            f"{name}-probe-image",
            name=args.probe_image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[self.connection]),
        )
        self.probe_image = probe.name
        # Re-run whenever the published ports change (a change of triggers replaces a Command).
        ports_json = json.dumps([p.__dict__ for p in args.ports], sort_keys=True)
        self.ports_check = run_script(
            f"{name}-ports",
            "check_ports",
            {
                **self.command_env,
                "JHUB_PORTS": ports_json,
                "JHUB_STACK_LABELS": json.dumps(names.labels, sort_keys=True),
                "JHUB_STACK_LABEL": LABEL_STACK,
                "JHUB_PROBE_IMAGE": probe.name,
                "JHUB_PROBE_NAME": f"{names.prefix}-port-probe",
            },
            triggers=[ports_json],
            opts=child,
        )
        # What every Docker object of the stack waits for.
        self.preflight: list[pulumi.Resource] = [self.connection, self.ports_check]
        self.register_outputs({"host": self.host})

    def pull(self, parent: pulumi.Resource, resource_name: str, image: str) -> pulumi.Output[str]:
        """An upstream image on this host, kept there when the stack goes (others may use it)."""
        pulled = docker.RemoteImage(
            resource_name, name=image, keep_locally=True, opts=self.child_opts(parent)
        )
        return pulled.name

    def container(
        self,
        parent: pulumi.Resource,
        resource_name: str,
        *,
        name: str,
        role: str,
        healthcheck: Healthcheck | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        **specifics: Any,
    ) -> docker.Container:
        """A container of the stack: what every one of them shares, and `specifics` (image,
        command, networks, uploads, ...) as pulumi-docker's Container takes them.

        - its fixed `name`, so a replacement removes the old one first (delete before replace);
        - the stack's labels and its `role` (what the janitor, the firewall and people's
          `docker ps` read);
        - restarted by the engine unless someone stopped it, and SIGTERM with
          STOP_GRACE_SECONDS to stop when it is deleted or replaced;
        - a changed healthcheck replaces it: the provider updates one in the state only, never
          on the engine (not ForceNew, and its Update ignores it).
        """
        return docker.Container(
            resource_name,
            name=name,
            restart="unless-stopped",
            healthcheck=None if healthcheck is None else healthcheck.args(),
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            labels=label_inputs(docker.ContainerLabelArgs, {**self.labels, LABEL_ROLE: role}),
            opts=self.child_opts(
                parent,
                delete_before_replace=True,
                depends_on=list(depends_on),
                replace_on_changes=None if healthcheck is None else ["healthcheck"],
            ),
            **specifics,
        )

    def volume(
        self, parent: pulumi.Resource, resource_name: str, *, name: str, labels: dict[str, str], keep: bool
    ) -> pulumi.Output[str]:
        """A named volume with the stack's labels; `keep` retains it when the stack is destroyed
        (retain, not protect: `pulumi destroy` of the stack must still succeed).

        Every argument of a docker volume replaces it (kreuzwerker resource_docker_volume.go:
        all ForceNew), and a replacement deletes the data. So its labels are set once: a label
        this program adds later must not replace users' data (`ignore_changes`). The name is
        fixed, so a replacement, if one ever happens, deletes first: created first, it would
        adopt the existing volume (Docker's VolumeCreate returns it) and then delete it.
        """
        volume = docker.Volume(
            resource_name,
            name=name,
            labels=label_inputs(docker.VolumeLabelArgs, labels),
            opts=self.child_opts(
                parent, retain_on_delete=keep, delete_before_replace=True, ignore_changes=["labels"]
            ),
        )
        return volume.name

    def child_opts(
        self,
        parent: pulumi.Resource,
        *,
        retain_on_delete: bool = False,
        delete_before_replace: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
        replace_on_changes: list[str] | None = None,
        ignore_changes: list[str] | None = None,
    ) -> pulumi.ResourceOptions:
        """Options for a Docker resource: on this host, under `parent`, after the pre-flight
        checks (engine reachable, published ports free)."""
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            retain_on_delete=retain_on_delete,
            delete_before_replace=delete_before_replace,
            depends_on=[*self.preflight, *(depends_on or [])],
            replace_on_changes=replace_on_changes,
            ignore_changes=ignore_changes,
        )
