"""What people and admins see of admission: how many servers may run at once, and why.

The hub admits servers by what each is guaranteed (spawner.memGuarantee, reserved on the Docker
host), not by its cap (memLimit): hub/servers.py derives `active_server_limit` from it. When
that limit is reached JupyterHub answers 429 "Active user limit exceeded"
(handlers/base.py `spawn_single_user`); the stack's 429 page (templates/429.html) then says how
many servers the hub runs, why, what frees a place, and tries again by itself. The admin page
shows the same figures, and /hub/metrics has them as gauges beside JupyterHub's own
`jupyterhub_running_servers` and the refused spawns
(`jupyterhub_server_spawn_duration_seconds_count{status="failure",reason="too-many-users"}`:
JupyterHub 6 metrics.py labels a refusal by `status` and `reason`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub.branding import prepend_template_path
from hub.contract import Settings

TEMPLATES = Path(__file__).parent / "templates"
# How long the 429 page waits before it asks again: long enough not to hammer a full hub,
# short enough that a place freed by a stop is taken within half a minute.
RETRY_SECONDS = 30
LIMIT_GAUGE = "jupyterhub_docker_active_server_limit"
GUARANTEE_GAUGE = "jupyterhub_docker_server_memory_guarantee_bytes"


def running_servers(user: Any = None) -> int:
    """JupyterHub's own count of running servers (its gauge, updated at every spawn request
    and by its periodic collector)."""
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("jupyterhub_running_servers")
    return int(value or 0)


# The gauges, made once per process: the configuration is read once per hub process, and a
# second read (a test) must set them again rather than register a second collector by that name.
_GAUGES: dict[str, Any] = {}


def _gauges(limit: int, guarantee: int) -> None:
    from prometheus_client import Gauge

    for name, value, text in (
        (LIMIT_GAUGE, limit, "Servers the hub runs at once (0: no limit)"),
        (GUARANTEE_GAUGE, guarantee, "Memory each server is guaranteed, the largest profile's"),
    ):
        gauge = _GAUGES.get(name) or _GAUGES.setdefault(name, Gauge(name, text))
        gauge.set(value)


def admission(c: Config, settings: Settings, limit: int | None, guarantee: int) -> None:
    """The 429 and admin pages' figures, and the gauges. `limit`: the active server limit the
    hub runs with (None or 0: none); `guarantee`: the largest per-server guarantee, in bytes."""
    prepend_template_path(c, str(TEMPLATES))
    culler = settings.get("culler")
    figures = {
        "limit": limit or 0,
        "guarantee": _size(guarantee),
        "memLimit": settings["spawner"]["memLimit"],
        "idleMinutes": 0 if culler is None else max(1, round(culler["timeout"] / 60)),
        "retrySeconds": RETRY_SECONDS,
        "orchestrator": settings["spawner"]["orchestrator"],
    }
    c.JupyterHub.template_vars = {
        **(dict(c.JupyterHub.template_vars) if "template_vars" in c.JupyterHub else {}),
        "admission": figures,
        # Called with the person at each render (JupyterHub.template_vars).
        "running_servers": running_servers,
    }
    _gauges(limit or 0, guarantee)


def _size(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20)):
        if size >= factor and size % (factor // 4) == 0:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"
