"""Before anything is created: every port the stack publishes must be free on the Docker host.

A port held by a container is reported with the container's name and, when it belongs to a
jupyterhub-docker stack, that stack. The stack's own containers may hold their ports (an `up`
that changes something else). Any other port is tried by publishing it from a throwaway
container of the probe image, which is what Docker itself will do: that finds ports held by
processes that are not containers, on a remote host as well as here. When this process shares
the engine's network namespace (a unix:// engine on this machine, seen through the socket's
peer credentials), the port is bound here instead, as the engine's docker-proxy would bind it
(SO_REUSEADDR, like Go's net.Listen): the same answer without a container's start, about half
a second of every first `up`. Run in a container with the socket mounted, or against a rootless
engine (its own namespace), the peer is not in ours and the probe container decides.
"""

import errno
import json
import os
import socket
import struct
import subprocess
import sys

ports = json.loads(os.environ["JHUB_PORTS"])  # [{"key", "address", "port"}]
stack_labels = json.loads(os.environ["JHUB_STACK_LABELS"])
stack_label_key = os.environ["JHUB_STACK_LABEL"]
probe_image = os.environ["JHUB_PROBE_IMAGE"]
probe_name = os.environ["JHUB_PROBE_NAME"]
host = os.environ["DOCKER_HOST"]


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True)


def overlaps(a: str, b: str) -> bool:
    return a == b or "0.0.0.0" in (a, b) or "" in (a, b)


def published() -> list[tuple[str, dict[str, str], str, int]]:
    """(container name, labels, host address, host port) of every running container's ports."""
    ids = docker("ps", "-q").stdout.split()
    if not ids:
        return []
    found = []
    for container in json.loads(docker("inspect", *ids).stdout or "[]"):
        labels = container["Config"].get("Labels") or {}
        for bindings in (container["NetworkSettings"].get("Ports") or {}).values():
            for binding in bindings or []:
                if binding.get("HostPort"):
                    found.append(
                        (container["Name"].lstrip("/"), labels, binding["HostIp"], int(binding["HostPort"]))
                    )
    return found


def fix(key: str) -> str:
    return f"choose another port: `pulumi config set --path {key} <port>`"


def shares_engine_namespace() -> bool:
    """Whether the engine behind a unix:// DOCKER_HOST runs in this process's network namespace."""
    if not host.startswith("unix://"):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(host[len("unix://") :])
            pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        # pid 0: the engine is not in this pid namespace (we run in a container).
        return pid > 0 and os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net")
    except OSError:  # no permission to read the engine's namespace, or no socket: ask the engine
        return False


def bind_refused(address: str, port: int) -> bool | None:
    """Whether binding the port here fails because something holds it; None when this process
    may not bind it at all (a port below 1024 without root), and the engine must be asked."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address or "0.0.0.0", port))
            probe.listen(1)
        except OSError as exc:
            return True if exc.errno == errno.EADDRINUSE else None
    return False


def probe_refused(address: str, port: int) -> bool:
    """Whether the engine refuses to publish the port from a throwaway container."""
    docker("rm", "--force", probe_name)
    label_args = [arg for k, v in stack_labels.items() for arg in ("--label", f"{k}={v}")]
    created = docker(
        "create",
        "--name",
        probe_name,
        *label_args,
        "--publish",
        f"{address}:{port}:9",
        "--entrypoint",
        "/bin/sh",
        probe_image,
        "-c",
        "exit 0",
    )
    if created.returncode != 0:
        sys.exit(
            f"dockerHost {host}: cannot create the port probe from {probe_image}: {created.stderr.strip()}"
        )
    started = docker("start", probe_name)
    docker("rm", "--force", probe_name)
    if started.returncode == 0:
        return False
    error = started.stderr.strip()
    if "address already in use" in error or "port is already allocated" in error:
        return True
    sys.exit(f"dockerHost {host}: publishing port {port} on {address} failed: {error}")


problems = []
held = published()
local = shares_engine_namespace()
probed = False  # whether any port was asked of the engine
for entry in ports:
    key, address, port = entry["key"], entry["address"], int(entry["port"])
    holders = [h for h in held if h[3] == port and overlaps(h[2], address)]
    ours = [h for h in holders if all(h[1].get(k) == v for k, v in stack_labels.items())]
    others = [h for h in holders if h not in ours]
    if others:
        name, labels, bound, _ = others[0]
        owner = f" of stack {labels[stack_label_key]!r}" if stack_label_key in labels else ""
        problems.append(
            f"{key}: port {port} on {address} is already published by container {name}{owner} "
            f"(on {bound or '0.0.0.0'}); {fix(key)}"
        )
        continue
    if ours:
        continue  # this stack's own container; it keeps the port or hands it over
    refused = bind_refused(address, port) if local else None
    if refused is None:
        refused, probed = probe_refused(address, port), True
    if refused:
        problems.append(
            f"{key}: port {port} on {address} is taken on the Docker host by a process that is not "
            f"a container; stop it, or {fix(key)}"
        )

if problems:
    sys.exit("published ports are not free on the Docker host:\n  " + "\n  ".join(problems))
how = "published by a probe container" if probed else "bound here, in the engine's network namespace"
print("free: " + ", ".join(f"{p['address']}:{p['port']} ({p['key']})" for p in ports) + f" ({how})")
