"""Benchmark: deploy time, spawn latency (single and under concurrent logins), idle memory.

Run after `bash scripts/test-env.sh`, with the images already built once (a test run does it):

    .venv/bin/python -m bench.bench [--spawns 5] [--concurrent 8]

It deploys a throwaway shared-password stack through the real-engine harness on the local
engine, measures, prints a Markdown table, and destroys the stack. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import yaml

from tests.deployers import HarnessDeployer, StackSpec, extra_ca_file
from tests.e2e.conftest import TEST_IMAGES, free_port
from tests.e2e.hubclient import HubUser

PASSWORD = "bench-" + secrets.token_hex(8)


def spawn(url: str, name: str) -> float:
    """Seconds from pressing "Start My Server" (after login) until the server answers."""
    user = HubUser(url, name)
    response = user.login(PASSWORD)
    if not user.logged_in():
        raise RuntimeError(f"login of {name} failed: HTTP {response.status_code}")
    # Logging in already redirects to the spawn page; time from there, as a person waits.
    started = time.monotonic()
    user.wait_ready(timeout=300)
    user.server_get("lab")
    return time.monotonic() - started


def memory_mib(engine: docker.DockerClient, name: str) -> float:
    stats = engine.containers.get(name).stats(stream=False)["memory_stats"]
    cache = stats.get("stats", {}).get("inactive_file", stats.get("stats", {}).get("cache", 0))
    return float(stats["usage"] - cache) / 2**20


# Timed inside a container: N inspects of one user server, through DOCKER_HOST (the hub: the
# Docker API proxy) or straight to the socket (run in the proxy's own container).
INSPECT_TIMING = """
import os, statistics, sys, time
import docker
url = sys.argv[1] or os.environ["DOCKER_HOST"]
api = docker.APIClient(base_url=url, version="auto")
times = []
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    api.inspect_container(sys.argv[2])
    times.append(time.perf_counter() - started)
print(statistics.median(times) * 1000)
"""


def inspect_ms(engine: docker.DockerClient, container: str, url: str, target: str, count: int = 200) -> float:
    """Median milliseconds of one `inspect_container` of `target`, from inside `container`."""
    run = engine.containers.get(container).exec_run(
        ["python3", "-c", INSPECT_TIMING, url, target, str(count)]
    )
    if run.exit_code != 0:
        raise RuntimeError(run.output.decode())
    return float(run.output.decode().strip().splitlines()[-1])


def throwaway_stack(
    workdir: Path,
    *,
    auth: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    secret_config: dict[str, str] | None = None,
) -> tuple[StackSpec, HarnessDeployer]:
    """A stack file for a shared-password stack on the local engine (test images), and the
    real-engine harness to deploy it. `auth` replaces the open shared-password login, `extra`
    adds config keys (without the namespace), `secret_config` adds secrets."""
    stack = f"bench{secrets.token_hex(2)}"
    images: dict[str, str] = dict(TEST_IMAGES)
    ca = extra_ca_file()
    if ca is not None:
        images["caCertificatesFile"] = str(ca)
    config = {
        "jupyterhub-docker:auth": auth or {"type": "shared-password", "allowAll": True},
        "jupyterhub-docker:images": images,
        "jupyterhub-docker:publish": {"port": free_port()},
        "jupyterhub-docker:spawner": {"memLimit": "1G", "startTimeout": 300},
    }
    for key, value in (extra or {}).items():
        config[f"jupyterhub-docker:{key}"] = value
    config_file = workdir / f"Pulumi.{stack}.yaml"
    config_file.write_text(yaml.safe_dump({"config": config}))
    spec = StackSpec(
        name=stack, config_file=config_file, secrets={"auth.password": PASSWORD, **(secret_config or {})}
    )
    return spec, HarnessDeployer(workdir / "state")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spawns", type=int, default=5, help="sequential single spawns (median)")
    parser.add_argument("--concurrent", type=int, default=8, help="users logging in at once")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jhub-bench-"))
    spec, deployer = throwaway_stack(workdir)
    stack = spec.name
    engine = docker.from_env()
    rows: list[tuple[str, str]] = []
    try:
        started = time.monotonic()
        outputs = deployer.up(spec)
        rows.append(("deploy, start to hub ready (images cached)", f"{time.monotonic() - started:.1f} s"))
        url = outputs["url"]

        single = [spawn(url, f"solo{i}") for i in range(args.spawns)]
        rows.append((f"single spawn to ready, median of {args.spawns}", f"{statistics.median(single):.2f} s"))

        with ThreadPoolExecutor(max_workers=args.concurrent) as pool:
            crowd = list(pool.map(lambda i: spawn(url, f"crowd{i}"), range(args.concurrent)))
        rows.append(
            (
                f"{args.concurrent} concurrent logins + spawns: median / max",
                f"{statistics.median(crowd):.2f} s / {max(crowd):.2f} s",
            )
        )

        prefix = f"jhub-{stack}"
        target = prefix + "-user-solo0"
        through = inspect_ms(engine, prefix + "-hub", "", target)
        direct = inspect_ms(engine, prefix + "-docker-api", "unix:///var/run/docker.sock", target)
        rows.append(
            (
                "one Docker API call (inspect), median of 200: hub through the API proxy / socket",
                f"{through:.1f} ms / {direct:.1f} ms",
            )
        )

        time.sleep(10)  # let the servers settle to idle before reading memory
        rows.append(("idle memory, hub", f"{memory_mib(engine, prefix + '-hub'):.0f} MiB"))
        rows.append(("idle memory, proxy", f"{memory_mib(engine, prefix + '-proxy'):.0f} MiB"))
        rows.append(
            ("idle memory, Docker API proxy", f"{memory_mib(engine, prefix + '-docker-api'):.0f} MiB")
        )
        rows.append(("idle memory, one user server", f"{memory_mib(engine, prefix + '-user-solo0'):.0f} MiB"))
    finally:
        started = time.monotonic()
        deployer.destroy(spec)
        rows.append(
            (
                f"destroy with {args.spawns + args.concurrent} servers running",
                f"{time.monotonic() - started:.1f} s",
            )
        )

    print("| measure | value |\n| --- | --- |")
    for measure, value in rows:
        print(f"| {measure} | {value} |")


if __name__ == "__main__":
    main()
