"""Destroy-time cleanup of what DockerSpawner created, which Pulumi never registered.

Removes the stack's user-server containers and, unless the stack keeps its data, the users'
home volumes, selected by the stack's labels. It runs after the hub is gone (so nothing spawns
again) and before the network is deleted (which fails while containers are attached).
"""

import json
import os
import subprocess
import sys


def docker(*args: str) -> list[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.split()


def selector(role: str) -> list[str]:
    filters = [*json.loads(os.environ["JHUB_LABEL_FILTERS"]), f"label={os.environ['JHUB_ROLE_LABEL']}={role}"]
    return [arg for f in filters for arg in ("--filter", f)]


containers = docker("ps", "-aq", *selector("user-server"))
if containers:
    docker("rm", "--force", "--volumes", *containers)
print(f"removed {len(containers)} user server container(s)")

if os.environ.get("JHUB_KEEP_DATA") == "true":
    print("keepData is set: users' home volumes are kept")
else:
    volumes = docker("volume", "ls", "-q", *selector("user-home"))
    if volumes:
        docker("volume", "rm", "--force", *volumes)
    print(f"removed {len(volumes)} home volume(s)")
