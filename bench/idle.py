"""Benchmark: what an idle stack costs while nobody uses it.

A teaching server hosts several stacks for months, and a test run holds a few at once: whatever
a stack does while idle (health probes the engine runs in its containers, the firewall's polls,
the hub's own timers) is paid all the time. This deploys a shared-password stack with no user
server, lets it settle, and reads over `--seconds` the CPU time of each of its containers (their
cgroups, as the engine reports them) and of the engine's own processes (dockerd, containerd and
the stack's containerd shims, which start every probe), in CPU-seconds per minute.

    .venv/bin/python -m bench.idle [--seconds 120] [--reference REV]

`--reference REV` also measures the program at git revision REV (the reference, e.g. the last
landing), after this checkout's, in the same invocation. Stacks are measured one at a time, so
the engine's work (dockerd, containerd: the probes it runs) is the stack's: the engine's own idle,
measured first with no stack of the run, is subtracted.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from bench.bench import throwaway_stack
from tests.deployers import PROJECT_DIR, HarnessDeployer, StackSpec
from tests.e2e.checkout import PROGRAM

ROLES = ("hub", "proxy", "docker-api", "firewall")
SETTLE_SECONDS = 20
TICKS = 100  # USER_HZ: /proc/<pid>/stat counts CPU time in these


@dataclass
class Stack:
    label: str
    spec: StackSpec
    deployer: HarnessDeployer

    @property
    def prefix(self) -> str:
        return f"jhub-{self.spec.name}"


def container_cpu_ns(engine: docker.DockerClient, name: str) -> int:
    """CPU time of a container's cgroup so far (every process in it, health probes included)."""
    stats = engine.containers.get(name).stats(stream=False)
    return int(stats["cpu_stats"]["cpu_usage"]["total_usage"])


def _process_ticks(pid: int) -> int:
    """utime + stime + the children it waited for (a shim's runc calls), in ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15])


def _processes() -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    return found


def engine_ticks(container_ids: dict[str, list[str]]) -> dict[str, int]:
    """Ticks of dockerd, containerd, and of each stack's shims (found by their containers' IDs)."""
    ticks = {"dockerd + containerd": 0, **{label: 0 for label in container_ids}}
    for pid, command in _processes().items():
        program = command.split(" ", 1)[0].rsplit("/", 1)[-1]
        try:
            if program in ("dockerd", "containerd"):
                ticks["dockerd + containerd"] += _process_ticks(pid)
            elif program.startswith("containerd-shim"):
                for label, ids in container_ids.items():
                    if any(cid in command for cid in ids):
                        ticks[label] += _process_ticks(pid)
        except OSError:
            continue
    return ticks


def reference_checkout(revision: str, destination: Path) -> Path:
    """The program at `revision`, as a clone holds it (tests/e2e/checkout.py PROGRAM)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, *PROGRAM],
        cwd=PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination


@dataclass
class Measured:
    up_seconds: float
    # CPU-seconds per minute: each container, the stack's shims, the engine beyond its own idle.
    parts: dict[str, float | None]


def measure(stack: Stack, engine: docker.DockerClient, seconds: float, engine_idle: float) -> Measured:
    """Deploy `stack`, let it settle, read a window of `seconds`, destroy it."""
    started = time.monotonic()
    stack.deployer.up(stack.spec)
    up_seconds = time.monotonic() - started
    try:
        time.sleep(SETTLE_SECONDS)
        names = {role: f"{stack.prefix}-{role}" for role in ROLES}
        present = {
            role: name
            for role, name in names.items()
            if engine.containers.list(all=True, filters={"name": f"^{name}$"})
        }
        ids = {"shims": [engine.containers.get(name).id for name in present.values()]}
        before = {role: container_cpu_ns(engine, name) for role, name in present.items()}
        ticks_before = engine_ticks(ids)
        window = time.monotonic()
        time.sleep(seconds)
        # The engine's side first: the stats calls below are this benchmark's own work.
        ticks_after = engine_ticks(ids)
        elapsed = time.monotonic() - window
        after = {role: container_cpu_ns(engine, name) for role, name in present.items()}
    finally:
        stack.deployer.destroy(stack.spec)
    per_minute = 60 / elapsed
    parts: dict[str, float | None] = {
        role: (after[role] - before[role]) / 1e9 * per_minute if role in present else None for role in ROLES
    }
    parts["its containerd shims (probes)"] = (
        (ticks_after["shims"] - ticks_before["shims"]) / TICKS * per_minute
    )
    busy = (ticks_after["dockerd + containerd"] - ticks_before["dockerd + containerd"]) / TICKS * per_minute
    parts["dockerd + containerd, beyond their own idle"] = max(0.0, busy - engine_idle)
    return Measured(up_seconds, parts)


def engine_idle_rate(seconds: float) -> float:
    """dockerd's and containerd's CPU-seconds per minute with no stack of this run on the engine."""
    before = engine_ticks({})["dockerd + containerd"]
    time.sleep(seconds)
    return (engine_ticks({})["dockerd + containerd"] - before) / TICKS * 60 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120, help="measuring window of each stack")
    parser.add_argument("--reference", help="git revision of the program to measure after this one")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhub-idle-"))
    engine = docker.from_env()
    stacks = []
    for part in ("this", "reference"):
        (workdir / part).mkdir()
    spec, deployer = throwaway_stack(workdir / "this")
    stacks.append(Stack("this checkout", spec, deployer))
    if args.reference:
        project = reference_checkout(args.reference, workdir / "reference-program")
        spec, deployer = throwaway_stack(workdir / "reference")
        deployer.project_dir = project
        stacks.append(Stack(f"reference {args.reference}", spec, deployer))
    engine_idle = engine_idle_rate(min(60.0, args.seconds / 2))
    results = {stack.label: measure(stack, engine, args.seconds, engine_idle) for stack in stacks}

    labels = list(results)
    print(
        f"\nAn idle stack (shared password, no user server), {args.seconds:.0f} s each, one after the other"
    )
    print(f"(the engine's own idle, subtracted: {engine_idle:.2f} CPU-s per minute)\n")
    print("| CPU-seconds per minute | " + " | ".join(labels) + " |")
    print("| --- |" + " --- |" * len(labels))
    for part in results[labels[0]].parts:
        cells = [results[label].parts.get(part) for label in labels]
        print(f"| {part} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in cells) + " |")
    totals = [sum(v for v in results[label].parts.values() if v is not None) for label in labels]
    print("| **the stack, all told** | " + " | ".join(f"**{t:.2f}**" for t in totals) + " |")
    print(
        "| `up` to the hub answering (images cached) | "
        + " | ".join(f"{results[label].up_seconds:.1f} s" for label in labels)
        + " |"
    )


if __name__ == "__main__":
    main()
