"""Benchmark: `up` of a new stack, from the start to the hub answering, with images cached.

    .venv/bin/python -m bench.up [--runs 3] [--reference REV]

Each run deploys a new throwaway shared-password stack through the real-engine harness on the
local engine (the same path as bench.bench and bench.idle), times `up` (which returns once the
hub answers /hub/health), and destroys it. One untimed `up` per checkout first builds what its
images need, so the timed runs find every layer in the engine's cache, as a person's second
stack or a re-created demo stack does. With `--reference`, the program at git revision REV is
measured the same way, its runs alternating with this checkout's. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.bench import throwaway_stack
from bench.idle import reference_checkout
from tests.deployers import PROJECT_DIR


def timed_up(workdir: Path, project: Path) -> float:
    spec, deployer = throwaway_stack(workdir)
    deployer.project_dir = project
    started = time.monotonic()
    try:
        deployer.up(spec)
        return time.monotonic() - started
    finally:
        deployer.destroy(spec)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="timed `up`s of each checkout")
    parser.add_argument("--reference", help="git revision of the program to measure beside this one")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhub-up-"))
    projects = {"this checkout": PROJECT_DIR}
    if args.reference:
        projects[f"reference {args.reference}"] = reference_checkout(args.reference, workdir / "reference")
    for project in projects.values():  # the untimed warm-up: builds the images' layers once
        timed_up(workdir, project)
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {label: [] for label in projects}
    for _ in range(args.runs):
        for label, project in projects.items():
            times[label].append(timed_up(workdir, project))
    print(f"\n`up` of a new stack to the hub answering, images cached; load average before: {load:.2f}\n")
    print("| | " + " | ".join(projects) + " |")
    print("| --- |" + " --- |" * len(projects))
    runs = [", ".join(f"{t:.1f}" for t in times[label]) for label in projects]
    medians = [f"{statistics.median(times[label]):.1f}" for label in projects]
    print("| runs, s | " + " | ".join(runs) + " |")
    print("| median, s | " + " | ".join(medians) + " |")


if __name__ == "__main__":
    main()
