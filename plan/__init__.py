"""Everything derived from the validated config before a resource is registered
(`deployment_plan.plan_deployment`): names, the hub's documents, build specs, the Caddyfile, the
Docker host's client files, and the checks of the engine, each reported at once."""
