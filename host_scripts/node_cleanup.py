"""Runs on every node of a swarm, as the task of the destroy's `global` cleanup service
(remove_user_servers.py): removes this node's leftover user-server containers and, unless the
stack keeps its data, its users' home volumes. Homes are `local` volumes, so only a process on
the node itself can reach them; the service mounts the node's socket.

Standard library only (it runs in a notebook image, whatever that image installed): the engine
API over the socket with http.client. Prints one JSON line, what was removed on which node,
then marks itself done (JHUB_DONE_FILE, the service's health check: the task is `running`
only once it is healthy) and waits to be stopped. It does not exit: a task that completes
stays behind when its service is removed (see remove_user_servers.py).
"""

# Whatever Python the notebook image has: annotations are not evaluated (3.7 and later).
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sys
import time
import urllib.parse

SOCKET = "/var/run/docker.sock"
# Seconds to retry a volume that is still "in use" while the engine removes its container.
VOLUME_RETRY_SECONDS = 30.0


class UnixConnection(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=60)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(SOCKET)


def call(method: str, path: str, query: dict[str, str] | None = None) -> tuple[int, object]:
    """One request to the engine: the status and the decoded JSON body (None when empty)."""
    connection = UnixConnection()
    try:
        connection.request(method, path + ("?" + urllib.parse.urlencode(query) if query else ""))
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, (json.loads(body) if body.strip() else None)


def labelled(kind: str, labels: list[str]) -> list[dict[str, object]]:
    path = "/containers/json" if kind == "containers" else "/volumes"
    query = {"filters": json.dumps({"label": labels})}
    if kind == "containers":
        query["all"] = "1"
    status, body = call("GET", path, query)
    if status != 200:
        sys.exit(f"listing {kind} with {labels}: {status} {body}")
    if kind == "volumes":
        return list(body["Volumes"] or []) if isinstance(body, dict) else []
    return list(body) if isinstance(body, list) else []


def remove_containers(labels: list[str]) -> int:
    found = labelled("containers", labels)
    for container in found:
        status, body = call("DELETE", f"/containers/{container['Id']}", {"force": "1", "v": "1"})
        # 404: gone meanwhile (its task was being removed); 409: removal already in progress.
        if status not in (204, 404, 409):
            sys.exit(f"removing container {container['Names']}: {status} {body}")
    return len(found)


def remove_volumes(labels: list[str]) -> int:
    found = [str(v["Name"]) for v in labelled("volumes", labels)]
    deadline = time.monotonic() + VOLUME_RETRY_SECONDS
    pending = list(found)
    while pending:
        failures = {}
        for name in pending:
            status, body = call("DELETE", f"/volumes/{urllib.parse.quote(name)}")
            if status not in (204, 404):
                failures[name] = f"{status} {body}"
        if not failures:
            break
        if time.monotonic() > deadline:
            sys.exit(f"removing volumes: {failures}")
        # 409 "volume is in use": a container of it is still being removed.
        pending = list(failures)
        time.sleep(1)
    return len(found)


containers = remove_containers(json.loads(os.environ["JHUB_CONTAINER_LABELS"]))
volume_labels = os.environ.get("JHUB_VOLUME_LABELS")
volumes = remove_volumes(json.loads(volume_labels)) if volume_labels else None
node = os.environ.get("JHUB_NODE", socket.gethostname())
print(json.dumps({"node": node, "containers": containers, "volumes": volumes}), flush=True)
# PID 1 has no default action for SIGTERM: exit on it, so the service's removal is quick.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(os.environ["JHUB_DONE_FILE"], "w") as done:
    done.write("done\n")
while True:
    signal.pause()
