"""Benchmark: backup and restore throughput (MiB/s) of `python -m ops` for a stack with N users
of M MiB each (default 20 x 50 MiB, random data, which does not compress).

    .venv/bin/python -m bench.backup [--users 20] [--mib 50]

It deploys two throwaway stacks on the local engine, fills the first one's home volumes
(created as DockerSpawner creates them: named and labelled for the stack), backs it up, restores
the archive into the second, prints a Markdown table and destroys both. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

from bench.bench import throwaway_stack
from plan.naming import LABEL_PROJECT, LABEL_ROLE, LABEL_STACK
from tests.deployers import PROJECT_DIR
from tests.e2e.conftest import TEST_IMAGES


def ops(project_dir: Path, *args: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "ops", "--project-dir", str(project_dir), *args], cwd=PROJECT_DIR, check=True
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--mib", type=int, default=50, help="MiB of data in each user's home")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhub-bench-backup-"))
    engine = docker.from_env()
    (source, deployer), (target, _) = throwaway_stack(workdir), throwaway_stack(workdir)
    try:
        deployer.up(source)
        deployer.up(target)
        for i in range(args.users):
            volume = f"jhub-{source.name}-home-user{i}"
            labels = {LABEL_PROJECT: "jupyterhub-docker", LABEL_STACK: source.name, LABEL_ROLE: "user-home"}
            engine.volumes.create(volume, labels=labels)
            engine.containers.run(
                TEST_IMAGES["base"],
                ["sh", "-c", f"head -c {args.mib}M /dev/urandom > /v/data.bin"],
                volumes={volume: {"bind": "/v", "mode": "rw"}},
                remove=True,
            )
        total = args.users * args.mib
        archives = workdir / "archives"
        saving = ops(workdir, "backup", "--stack", source.name, "--out", str(archives))
        archive = next(archives.iterdir())
        loading = ops(workdir, "restore", "--stack", target.name, str(archive))
        print(f"| measure ({args.users} users x {args.mib} MiB = {total} MiB of homes) | value |")
        print("| --- | --- |")
        print(f"| backup | {saving:.1f} s, {total / saving:.0f} MiB/s |")
        print(f"| restore into another stack | {loading:.1f} s, {total / loading:.0f} MiB/s |")
    finally:
        deployer.destroy(source)
        deployer.destroy(target)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
