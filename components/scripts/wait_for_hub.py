"""Readiness: return only when the hub answers through the public URL (edge or proxy).

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

# Published only on a remote host's loopback: run this same probe on the host, in an image with
# python3, on the host's network, through the stack's docker CLI settings (pinned ssh config).
from_host = os.environ.get("JHUB_FROM_HOST_IMAGE")
if from_host:
    settings = ["JHUB_HEALTH_URL", "JHUB_CA_PEM", "JHUB_READY_TIMEOUT"]
    env = [arg for key in settings for arg in ("-e", f"{key}={os.environ.get(key, '')}")]
    probe = ["docker", "run", "-i", "--rm", "--network", "host", *env, "-e", "JHUB_CONNECT_ADDRESS=127.0.0.1"]
    result = subprocess.run(
        [*probe, "--entrypoint", "python3", from_host, "-"],
        input=os.environ["JHUB_PROBE_SCRIPT"],
        capture_output=True,
        text=True,
    )
    print(result.stdout.strip() + " (checked from the Docker host)")
    sys.exit(result.returncode and (result.stderr.strip() or "the probe on the Docker host failed"))

url = urlsplit(os.environ["JHUB_HEALTH_URL"])
address = os.environ.get("JHUB_CONNECT_ADDRESS") or url.hostname or "127.0.0.1"
ca_pem = os.environ.get("JHUB_CA_PEM", "")
timeout = float(os.environ.get("JHUB_READY_TIMEOUT", "180"))
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
    time.sleep(1)
sys.exit(f"hub did not answer at {url.geturl()} (via {address}) within {timeout:.0f}s (last: {last_error})")
