"""Deploy a multi-user JupyterHub onto a Docker host: validate, plan, then build the graph."""

from pathlib import Path

import pulumi

from components.deployment import JupyterHubDeployment
from config.stack import load_from_pulumi
from plan.deployment_plan import plan_deployment
from plan.naming import StackNames
from plan.preflight import current

# Every problem of the config and of what it points at is reported at once, before a single
# resource is registered, not even the root component.
config = load_from_pulumi()
names = StackNames(project=pulumi.get_project(), stack=pulumi.get_stack())
# `current()`: the engine itself; under the unit tests' mocks a stand-in (plan/preflight.py).
plan = plan_deployment(config, names, Path(__file__).resolve().parent, current())

hub = JupyterHubDeployment("jupyterhub", plan)

pulumi.export("url", hub.url)
pulumi.export("dockerHost", hub.docker_host)
pulumi.export("access", hub.access)
pulumi.export("admins", hub.admins)
pulumi.export("network", hub.network)
pulumi.export("dataVolume", hub.data_volume)
pulumi.export("ready", hub.ready)
# The `metrics` service's token (scope read:metrics) for scraping /hub/metrics.
pulumi.export("metricsToken", hub.metrics_token)
pulumi.export("notebookImages", hub.notebook_images)
if hub.registry_server is not None:
    pulumi.export("registry", hub.registry_server)
    # What the registry must keep (scripts/registry_gc.py deletes every other tag).
    pulumi.export("registryImages", hub.registry_images)
if hub.ca_certificate is not None:
    # tls.mode self-signed: the CA to trust (browsers, `curl --cacert`).
    pulumi.export("caCertificate", hub.ca_certificate)
