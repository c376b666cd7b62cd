"""Readiness: return only when the hub answers through the public URL (edge or proxy), and fail
as soon as the hub container shows it cannot start.

This is what `pulumi up` waits for (the hub container itself is created without the provider's
`wait`, whose healthcheck-interval granularity cost seconds per `up`; components/hub.py). It asks
every quarter second, and checks the hub container's state once a second: a hub that exits, or
that its restart policy restarted, fails `up` at once with its last log lines, instead of after
the timeout.

The public URL may name a domain that only resolves elsewhere (public DNS, a test network), so
the script connects to the published address and presents the URL's host name: as SNI for TLS
and in the Host header. With a CA (tls.mode self-signed) the certificate is verified; otherwise
a TLS handshake with the edge is enough to show it serves a certificate.
"""

import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
from urllib.parse import urlsplit

# A refused connect costs microseconds; the hub answers within a poll of being up.
POLL_SECONDS = 0.05
STATE_EVERY_SECONDS = 1.0
hub = os.environ.get("JHUB_HUB_CONTAINER", "")
timeout = float(os.environ.get("JHUB_READY_TIMEOUT", "180"))


def hub_failure() -> "str | None":
    """Why the hub container cannot be starting any more (exited, dead, restarted), with its
    last log lines; None while it runs (or when this probe runs without the docker CLI)."""
    if not hub:
        return None
    state = subprocess.run(
        ["docker", "container", "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", hub],
        capture_output=True,
        text=True,
    )
    if state.returncode != 0:
        return None
    status, _, restarts = state.stdout.strip().partition(" ")
    if status in ("running", "created") and restarts in ("0", ""):
        return None
    logs = subprocess.run(["docker", "logs", "--tail", "30", hub], capture_output=True, text=True)
    return (
        f"the hub container {hub} is {status} (restarted {restarts} times): it cannot start. "
        f"Its last log lines (`docker logs {hub}`):\n{(logs.stdout + logs.stderr)[-3000:]}"
    )


# Published only on a remote host's loopback: run this same probe on the host, in an image with
# python3, on the host's network, through the stack's docker CLI settings (pinned ssh config),
# while this side watches the hub container.
from_host = os.environ.get("JHUB_FROM_HOST_IMAGE")
if from_host:
    settings = ["JHUB_HEALTH_URL", "JHUB_CA_PEM", "JHUB_READY_TIMEOUT"]
    env = [arg for key in settings for arg in ("-e", f"{key}={os.environ.get(key, '')}")]
    probe = ["docker", "run", "-i", "--rm", "--network", "host", *env, "-e", "JHUB_CONNECT_ADDRESS=127.0.0.1"]
    running = subprocess.Popen(
        [*probe, "--entrypoint", "python3", from_host, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert running.stdin is not None
    running.stdin.write(os.environ["JHUB_PROBE_SCRIPT"])
    running.stdin.close()
    while running.poll() is None:
        failure = hub_failure()
        if failure:
            running.kill()
            sys.exit(failure)
        time.sleep(STATE_EVERY_SECONDS)
    out, err = running.communicate()
    print(out.strip() + " (checked from the Docker host)")
    sys.exit(running.returncode and (err.strip() or "the probe on the Docker host failed"))

url = urlsplit(os.environ["JHUB_HEALTH_URL"])
address = os.environ.get("JHUB_CONNECT_ADDRESS") or url.hostname or "127.0.0.1"
ca_pem = os.environ.get("JHUB_CA_PEM", "")
https = url.scheme == "https"
port = url.port or (443 if https else 80)
host = url.hostname or address

if https:
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl._create_unverified_context()


def status() -> int:
    sock = socket.create_connection((address, port), timeout=5)
    if https:
        sock = context.wrap_socket(sock, server_hostname=host)
    connection = http.client.HTTPConnection(host, port, timeout=5)
    connection.sock = sock
    connection.request("GET", url.path or "/", headers={"Host": url.netloc})
    return connection.getresponse().status


started = time.monotonic()
checked = 0.0
last_error = "no answer yet"
while time.monotonic() - started < timeout:
    try:
        code = status()
        if code == 200:
            print(f"hub ready at {url.geturl()} after {time.monotonic() - started:.1f}s")
            sys.exit(0)
        last_error = f"HTTP {code}"
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        last_error = str(exc)
    if time.monotonic() - checked >= STATE_EVERY_SECONDS:
        checked = time.monotonic()
        failure = hub_failure()
        if failure:
            sys.exit(failure)
    time.sleep(POLL_SECONDS)
failure = hub_failure()
sys.exit(
    failure
    or f"hub did not answer at {url.geturl()} (via {address}) within {timeout:.0f}s (last: {last_error})"
)
