"""workshop.prestart: start the servers of every listed user, a few at a time, and wait until
they are ready, so a participant who logs in finds a running server.

Run in the hub container by the program after `up` (`python -m hub.prestart`). It calls the hub's
REST API with the `prestart` service's token, which may only read and start servers, and records
which servers it started (PRESTARTED_FILE) for the idle culler's grace period
(hub/culler/culler_config.py).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hub.contract import HUB_PORT, PRESTARTED_FILE, SECRETS_FILE, SETTINGS_FILE

API = f"http://127.0.0.1:{HUB_PORT}/hub/api"
READY_TIMEOUT = 600  # seconds for all servers to be ready


class Api:
    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(API + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()[:500]


def server_of(api: Api, user: str) -> dict[str, Any] | None:
    """The user's default server, as the hub reports it (None when it has none)."""
    status, model = api.call("GET", f"/users/{urllib.parse.quote(user, safe='')}")
    if status != 200:
        raise RuntimeError(f"GET /users/{user}: HTTP {status} {model}")
    server: dict[str, Any] | None = model.get("servers", {}).get("")
    return server


def start(api: Api, user: str) -> str:
    """Start `user`'s server and wait until it is ready; returns its `started` timestamp."""
    current = server_of(api, user)
    if current is None or not (current.get("ready") or current.get("pending")):
        status, body = api.call("POST", f"/users/{urllib.parse.quote(user, safe='')}/server", {})
        if status not in (201, 202, 400):  # 400: already running or pending (a race with a login)
            raise RuntimeError(f"starting {user}'s server: HTTP {status} {body}")
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        current = server_of(api, user)
        if current is not None and current.get("ready"):
            return str(current["started"])
        if current is None:
            raise RuntimeError(f"{user}'s server stopped while starting; see the hub's log")
        time.sleep(1)
    raise RuntimeError(f"{user}'s server was not ready after {READY_TIMEOUT} s")


def main() -> int:
    settings = json.loads(Path(SETTINGS_FILE).read_text())
    secrets = json.loads(Path(SECRETS_FILE).read_text())
    prestart = settings["prestart"]
    api = Api(secrets["prestartToken"])
    users: list[str] = prestart["users"]
    started: dict[str, str] = {}
    failed: list[str] = []
    with ThreadPoolExecutor(prestart["concurrency"]) as pool:
        for user, result in zip(users, pool.map(lambda u: _attempt(api, u), users), strict=True):
            if isinstance(result, Exception):
                failed.append(f"{user}: {result}")
            else:
                started[user] = result
    # Only servers this run saw ready are under the culler's grace period.
    Path(PRESTARTED_FILE).write_text(json.dumps(started, indent=1, sort_keys=True))
    print(f"prestarted {len(started)} of {len(users)} servers")
    if failed:
        print("\n".join(failed), file=sys.stderr)
        return 1
    return 0


def _attempt(api: Api, user: str) -> str | Exception:
    try:
        return start(api, user)
    except Exception as exc:  # reported per user, after the others were tried
        return exc


if __name__ == "__main__":
    sys.exit(main())
