"""Steps around the containers: destroy-time cleanup of user servers, and readiness."""

from __future__ import annotations

import json

import pulumi
import pulumi_command as command

from .host import DockerHost
from .naming import LABEL_ROLE, StackNames
from .scripts import PYTHON, script


class UserServers(pulumi.ComponentResource):
    """Owns, for Pulumi's sake, the containers and volumes DockerSpawner creates at run time.

    It has nothing to create. Its delete step removes them; the hub depends on it (so the hub
    is gone first and cannot spawn again) and it depends on the network and the data volume
    (so it runs before they are deleted: a network with containers attached cannot be removed).
    """

    def __init__(
        self,
        name: str,
        host: DockerHost,
        *,
        names: StackNames,
        network: pulumi.Input[str],
        keep_data: bool,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:UserServers", name, None, opts)
        self.cleanup = command.local.Command(
            f"{name}-cleanup",
            delete=script("remove_user_servers"),
            interpreter=PYTHON,
            environment={
                **host.command_env,
                "JHUB_LABEL_FILTERS": json.dumps(names.label_filters),
                "JHUB_ROLE_LABEL": LABEL_ROLE,
                "JHUB_KEEP_DATA": "true" if keep_data else "false",
                # A data edge to the network, so the cleanup is ordered before its deletion.
                "JHUB_NETWORK": network,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.register_outputs({})


class Readiness(pulumi.ComponentResource):
    """`pulumi up` returns only once the hub answers through the public URL."""

    def __init__(
        self,
        name: str,
        *,
        health_url: str,
        connect_address: str,
        ca_pem: pulumi.Input[str] | None,
        from_host: tuple[dict[str, str], pulumi.Input[str]] | None,
        triggers: list[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("jupyterhub-docker:index:Readiness", name, None, opts)
        check = command.local.Command(
            f"{name}-check",
            create=script("wait_for_hub"),
            interpreter=PYTHON,
            environment={
                "JHUB_HEALTH_URL": health_url,
                # The public URL may name a domain that only resolves elsewhere: connect to the
                # published address, and present the URL's host (SNI, Host header).
                "JHUB_CONNECT_ADDRESS": connect_address,
                "JHUB_CA_PEM": ca_pem or "",
                "JHUB_READY_TIMEOUT": "180",
                **self._from_host_env(from_host),
            },
            # Re-run whenever the hub or proxy container is replaced.
            triggers=triggers,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.message: pulumi.Output[str] = check.stdout
        self.register_outputs({"message": self.message})

    @staticmethod
    def _from_host_env(
        from_host: tuple[dict[str, str], pulumi.Input[str]] | None,
    ) -> dict[str, pulumi.Input[str]]:
        """To probe from the host: its docker CLI settings, an image with python3 to run the
        probe in (host network), and the probe itself (this same script)."""
        if from_host is None:
            return {}
        command_env, image = from_host
        return {**command_env, "JHUB_FROM_HOST_IMAGE": image, "JHUB_PROBE_SCRIPT": script("wait_for_hub")}
