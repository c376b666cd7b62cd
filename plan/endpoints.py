"""Where the stack's containers answer, by their fixed names, and how long `up` waits for the
hub: static values the plan writes into the hub's settings and the edge's Caddyfile."""

from __future__ import annotations

from plan.naming import StackNames

PUBLIC_PORT = 8000
API_PORT = 8001
# How long `pulumi up` waits for the hub to answer before it fails (the readiness check,
# host_scripts/wait_for_hub.py, which fails at once when the container exits or restarts).
# An auth mode may need more (`start_allowance_seconds`: reading an OIDC discovery document).
WAIT_TIMEOUT_SECONDS = 60


def api_url(names: StackNames) -> str:
    """The proxy's REST API, by the container's fixed name.

    A static value, not the container's `name` output: the engine replaces, along with a
    delete-before-replace resource, every dependent whose inputs come from its outputs and
    whose diff would replace (pulumi/pulumi pkg/resource/deploy/step_generator.go,
    `calculateDependentReplacements`). The hub's settings and the edge's Caddyfile are
    uploads, which replace: an output here would tear both down with every proxy change.
    """
    return f"http://{names.proxy}:{API_PORT}"


def public_target(names: StackNames) -> str:
    """Where the TLS edge sends user traffic (static, for the same reason as `api_url`)."""
    return f"{names.proxy}:{PUBLIC_PORT}"
