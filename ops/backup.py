"""Backup and restore of a stack's data: the hub database, cookie secret and first-use password
store (the data volume), every user's home volume, and the stack-owned shared folders.

An archive is a directory: one tar per volume and `manifest.json` (stack, hub image, running
servers, and per volume its role, size and SHA-256). It is written as `<name>.partial` and
renamed only when complete, so a directory without that suffix is always a whole archive. The
hub's SQLite database is copied with SQLite's online backup, consistent while the hub runs.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan.naming import LABEL_ROLE, LABEL_STACK, StackNames

from .engine import Engine, OpsError

FORMAT = 1
ROLES = ("hub-data", "user-home", "shared")  # what a backup holds (a CIFS/NFS share is not ours)
CHUNK = 1 << 20
# Run in the hub's image, with the data volume at /v: the database through SQLite's online
# backup, everything else as it is, as one tar on stdout.
DATA_TAR = """
import io, os, sqlite3, sys, tarfile
db = "/v/jupyterhub.sqlite"
skip = {db, db + "-journal", db + "-wal", db + "-shm"}
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as tar:
    for root, dirs, files in os.walk("/v"):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            if path not in skip and not (name in dirs and os.path.islink(path)):
                tar.add(path, arcname=os.path.relpath(path, "/v"), recursive=False)
    if os.path.exists(db):
        copy = sqlite3.connect("/tmp/db")
        sqlite3.connect(f"file:{db}?mode=ro", uri=True).backup(copy)
        copy.close()
        tar.add("/tmp/db", arcname="jupyterhub.sqlite")
"""


@dataclass(frozen=True)
class Volume:
    name: str
    role: str

    def suffix(self, names: StackNames) -> str:
        return self.name.removeprefix(names.prefix + "-")


def _hub_image(engine: Engine, names: StackNames) -> str:
    found = engine.run("ps", "-a", "--filter", f"name=^{names.hub}$", "--format", "{{.Image}}").strip()
    if not found:
        raise OpsError(f"no hub container {names.hub} on {engine.host}: deploy the stack first (`pulumi up`)")
    return found.splitlines()[0]


def stack_volumes(engine: Engine, names: StackNames) -> list[Volume]:
    listed = engine.run("volume", "ls", "-q", "--filter", f"label={LABEL_STACK}={names.stack}").split()
    volumes = []
    for item in json.loads(engine.run("volume", "inspect", *listed)) if listed else []:
        labels, options = item.get("Labels") or {}, item.get("Options") or {}
        role = labels.get(LABEL_ROLE, "")
        if role in ROLES and not options.get("type"):
            volumes.append(Volume(item["Name"], role))
    return sorted(volumes, key=lambda v: (ROLES.index(v.role), v.name))


def _save(engine: Engine, image: str, volume: Volume, target: Path) -> tuple[int, str]:
    """Stream the volume's tar into `target`; its size and SHA-256."""
    mount = ["--mount", f"type=volume,source={volume.name},target=/v"]
    if volume.role == "hub-data":
        command = ["--entrypoint", "python3", image, "-c", DATA_TAR]
    else:
        command = ["--entrypoint", "tar", image, "-C", "/v", "-cf", "-", "."]
    process = engine.stream("run", "--rm", "--user", "0", *mount, *command, stdout=-1)
    digest, size = hashlib.sha256(), 0
    assert process.stdout is not None and process.stderr is not None
    with target.open("wb") as out:
        while chunk := process.stdout.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    error = process.stderr.read().decode(errors="replace").strip()
    if process.wait() != 0:
        raise OpsError(f"reading volume {volume.name} failed: {error or process.returncode}")
    return size, digest.hexdigest()


def backup(engine: Engine, names: StackNames, out_dir: Path, say: Any = print) -> Path:
    image = _hub_image(engine, names)
    volumes = stack_volumes(engine, names)
    running = engine.run(
        "ps", "--filter", f"label={LABEL_STACK}={names.stack}", "--filter", f"label={LABEL_ROLE}=user-server",
        "--format", "{{.Names}}",
    ).split()  # fmt: skip
    version = engine.run("run", "--rm", "--entrypoint", "jupyterhub", image, "--version").strip()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    final = out_dir / f"{names.stack}-{stamp}"
    partial = final.with_name(final.name + ".partial")
    partial.mkdir(parents=True)
    try:
        entries = []
        for volume in volumes:
            started = time.monotonic()
            file = f"{volume.suffix(names)}.tar"
            size, sha256 = _save(engine, image, volume, partial / file)
            seconds = time.monotonic() - started
            say(f"{volume.name}: {size / 2**20:.1f} MiB in {seconds:.1f} s")
            entries.append(
                {"name": volume.name, "suffix": volume.suffix(names), "role": volume.role, "file": file,
                 "bytes": size, "sha256": sha256}
            )  # fmt: skip
        manifest = {
            "format": FORMAT,
            "stack": names.stack,
            "createdAt": stamp,
            "dockerHost": engine.host,
            "hubImage": image,
            "jupyterhubVersion": version,
            # Servers running while their homes were read: files being written then may be torn.
            "runningServers": running,
            "volumes": entries,
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _is_empty(engine: Engine, image: str, volume: str) -> bool:
    found = engine.run(
        "run", "--rm", "--user", "0", "--mount", f"type=volume,source={volume},target=/v",
        "--entrypoint", "find", image, "/v", "-mindepth", "1", "-maxdepth", "1",
    )  # fmt: skip
    return not found.strip()


def _verified(archive: Path) -> dict[str, Any]:
    manifest_file = archive / "manifest.json"
    if archive.name.endswith(".partial") or not manifest_file.exists():
        raise OpsError(f"{archive} is not a complete backup (no manifest.json)")
    manifest: dict[str, Any] = json.loads(manifest_file.read_text())
    if manifest.get("format") != FORMAT:
        raise OpsError(f"{archive}: backup format {manifest.get('format')!r}, this version reads {FORMAT}")
    for entry in manifest["volumes"]:
        digest = hashlib.sha256()
        with (archive / entry["file"]).open("rb") as data:
            while chunk := data.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise OpsError(
                f"{archive / entry['file']}: checksum differs from the manifest; the archive is damaged"
            )
    return manifest


def restore(
    engine: Engine, names: StackNames, archive: Path, *, overwrite: bool = False, say: Any = print
) -> None:
    """Into the deployed stack `names` (the same one or another: volume names are mapped). The
    hub is stopped while its data is replaced and started again."""
    manifest = _verified(archive)
    image = _hub_image(engine, names)
    existing = set(engine.run("volume", "ls", "-q").split())
    targets = [(entry, f"{names.prefix}-{entry['suffix']}") for entry in manifest["volumes"]]
    full = [t for _, t in targets if t in existing and not _is_empty(engine, image, t)]
    # The fresh hub's own database is expected: replacing it is what a restore does.
    full = [t for t in full if t != names.data_volume]
    if full and not overwrite:
        raise OpsError(
            f"these volumes of stack {names.stack} hold data: {', '.join(full)}; nothing was changed. "
            "Restore into a new stack, or pass --overwrite to replace their contents"
        )
    engine.run("stop", "--time", "10", names.hub)
    try:
        for entry, target in targets:
            started = time.monotonic()
            if target not in existing:
                labels = {**names.labels, LABEL_ROLE: entry["role"]}
                engine.run("volume", "create", *[f"--label={k}={v}" for k, v in labels.items()], target)
            with (archive / entry["file"]).open("rb") as data:
                engine.run(
                    "run", "--rm", "-i", "--user", "0", "--mount", f"type=volume,source={target},target=/v",
                    "--entrypoint", "sh", image, "-c", "find /v -mindepth 1 -delete && tar -C /v -xf -",
                    stdin=data,
                )  # fmt: skip
            say(f"{target}: {entry['bytes'] / 2**20:.1f} MiB in {time.monotonic() - started:.1f} s")
    finally:
        engine.run("start", names.hub)
