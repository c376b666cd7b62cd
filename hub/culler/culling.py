"""The idle culler's cull decision, with a grace period for servers that workshop.prestart
started (installed by hub/culler/culler_config.py, the culler's config file).

jupyterhub-idle-culler 2.0 calls `IdleCuller.cull_arbiter_hook(inactive=, inactive_limit=,
server=)` for each ready server and culls when it returns True (jupyterhub_idle_culler/__init__.py,
`handle_server`). A prestarted server is idle from the moment it starts: without the grace period
a participant who logs in an hour after the prestart would find it culled.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.contract import PRESTARTED_FILE

# Activity within this long after the start is the start itself (the proxy adding the route, the
# server's first activity report), not its user.
START_SLACK = timedelta(seconds=60)


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def prestarted() -> dict[str, str]:
    """{"<user>": "<started>"} of the servers the last prestart started."""
    try:
        found: dict[str, str] = json.loads(Path(PRESTARTED_FILE).read_text())
        return found
    except (OSError, ValueError):
        return {}


def in_grace(
    server: dict[str, Any], grace: timedelta, now: datetime, started_by_prestart: dict[str, str]
) -> bool:
    """Whether `server` is a prestarted server its user has not used yet, within the grace period."""
    user, _, name = str(server.get("full_name", "")).partition("/")
    if name or started_by_prestart.get(user) != server.get("started") or not server.get("started"):
        return False  # not a server the prestart started (another start has its own timestamp)
    started = _time(server["started"])
    last_activity = _time(server["last_activity"]) if server.get("last_activity") else started
    used = last_activity > started + START_SLACK
    return not used and now - started < grace


def arbiter(*, inactive: timedelta, inactive_limit: int, server: dict[str, Any], **_: Any) -> bool:
    grace = timedelta(seconds=int(os.environ.get("JHUB_PRESTART_GRACE", "0")))
    if grace and in_grace(server, grace, datetime.now(UTC), prestarted()):
        return False
    return inactive.total_seconds() >= inactive_limit
