"""Garbage-collect a stack's registry: delete the tags no longer in the config, then reclaim
their storage with the registry's own garbage collector.

Kept: every image the stack's config still names (the `registryImages` stack output) and every
image a running container of the stack uses, whatever the config says. A manifest shared with a
kept tag is never deleted. Usage (see docs/how-to/registry.md):

    pulumi stack output --json registryImages > keep.json
    REGISTRY_PASSWORD=... python scripts/registry_gc.py --stack prod --keep-file keep.json \\
        [--registry localhost:5000] [--username teacher] [--dry-run]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


class Registry:
    def __init__(self, server: str, username: str | None, password: str | None) -> None:
        self.base = f"http://{server}/v2/"
        self.headers = {"Accept": MANIFEST_TYPES}
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def request(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, path: str) -> Any:
        status, _, body = self.request("GET", path)
        if status != 200:
            sys.exit(f"registry: GET /v2/{path} answered HTTP {status}: {body[:200]!r}")
        return json.loads(body)

    def digest(self, repository: str, tag: str) -> str:
        status, headers, _ = self.request("HEAD", f"{repository}/manifests/{tag}")
        if status != 200:
            sys.exit(f"registry: no manifest for {repository}:{tag} (HTTP {status})")
        return headers["Docker-Content-Digest"]


def docker(*args: str) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True)
    parser.add_argument("--keep-file", required=True, type=Path, help="JSON list of image references to keep")
    parser.add_argument("--registry", default="localhost:5000")
    parser.add_argument("--username", default=os.environ.get("REGISTRY_USERNAME"))
    parser.add_argument("--container", help="the registry container (default: jhub-<stack>-registry)")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()

    registry = Registry(args.registry, args.username, os.environ.get("REGISTRY_PASSWORD"))
    keep = set(json.loads(args.keep_file.read_text()))
    in_use = docker(
        "ps", "--filter", f"label=org.jupyterhub-docker.stack={args.stack}", "--format", "{{.Image}}"
    )
    keep |= set(in_use.split())

    tags: dict[str, str] = {}  # reference -> manifest digest
    for repository in registry.json("_catalog").get("repositories") or []:
        for tag in registry.json(f"{repository}/tags/list").get("tags") or []:
            tags[f"{args.registry}/{repository}:{tag}"] = registry.digest(str(repository), str(tag))
    kept_digests = {digest for reference, digest in tags.items() if reference in keep}
    deleted = 0
    for reference, digest in sorted(tags.items()):
        if reference in keep or digest in kept_digests:
            print(f"keep    {reference}")
            continue
        print(f"delete  {reference}")
        deleted += 1
        if not args.dry_run:
            repository = reference.removeprefix(args.registry + "/").rsplit(":", 1)[0]
            status, _, body = registry.request("DELETE", f"{repository}/manifests/{digest}")
            if status != 202:
                sys.exit(f"registry: deleting {reference} answered HTTP {status}: {body[:200]!r}")
    if deleted and not args.dry_run:
        container = args.container or f"jhub-{args.stack}-registry"
        config = "/etc/docker/registry/config.yml"
        docker("exec", container, "registry", "garbage-collect", "--delete-untagged", config)
        print(f"garbage-collected {container}")
    print(f"{deleted} tag(s) {'would be ' if args.dry_run else ''}deleted, {len(tags) - deleted} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
