"""Benchmark: a workshop's first minute. N people log in through the login form at once; how
long until each has a working server, what CPU each spawn costs and where, and what an idle
server holds in memory.

    .venv/bin/python -m bench.burst [--users 30] [--modes cold,prestarted,stock] [--modes swarm]

Modes, run one after the other in the same invocation (each on its own throwaway objects):
- `cold`: this project's shared-password stack; nobody has a server when the burst starts.
- `prestarted`: the same with `workshop: {prestart: true}` and the users in `auth.allowedUsers`:
  the hub starts their servers after `up`; the burst starts once all N are running.
- `stock`: the reference. A hub container run directly with docker-py from this project's hub
  image (same JupyterHub and DockerSpawner pins) with a minimal jupyterhub_config.py: DockerSpawner's
  defaults plus only what it needs to work here (see `STOCK_CONFIG`), the same notebook image.
  The hub image has no node, hence no in-hub configurable-http-proxy: the stack's proxy image
  runs as a separate container, and the stock config points the hub at it.
- `swarm` (not in the default `--modes`): the e2e test's stack on a nested three-node Docker
  Swarm (tests/peers/swarm), its servers Swarm services; see bench/swarm_burst.py.

A user is ready when the lab page has loaded and /user/<name>/api/status answers 200; the time
counts from submitting the login form (the form is loaded first, as a person has it open). CPU is
read before the burst and once everyone is ready: the cgroup of the hub, the proxy and the user
containers, and /proc/<pid>/stat of dockerd, containerd and the shims (with their reaped
children, e.g. runc) on the host. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import requests
from docker.models.containers import Container

from bench.bench import PASSWORD, memory_mib, throwaway_stack
from config.stack import ImagesConfig, StackConfig
from plan.build import common_build_args, context_hash, hub_jupyterhub_version
from tests.deployers import PROJECT_DIR, extra_ca_file
from tests.e2e.conftest import TEST_IMAGES, free_port
from tests.e2e.hubclient import HubError, HubUser, escape

READY_TIMEOUT = 600  # seconds a user waits for a server before the run is declared failed
SETTLE_SECONDS = 15  # after the burst, before idle memory is read
ADMIN = "benchadmin"
LOG_DIR: Path | None = None  # --logs: where each mode's hub log is saved
HUB_EXTRA: dict[str, Any] = {}  # --hub-extra-config: this project's stacks get it as hub.extraConfig
# Host processes of the engine: their CPU is the engine's share of a spawn. docker-proxy carries
# the benchmark's own HTTP traffic to the published port, so it is counted apart.
ENGINE_PROCESSES = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2")
GROUPS = ("hub", "proxy", "services", "users", "engine", "docker-proxy")
# --client poll: instead of following the spawn's progress as the spawn-pending page does, ask
# for the lab URL this often until it is the lab (as some scripts and impatient people do).
CLIENT_POLL_SECONDS = 0.25
CLIENT = "progress"


def log(message: str) -> None:
    print(f"[burst {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- CPU accounting ------------------------------------------------------------------------------
def _process_cpu() -> dict[tuple[int, str], float]:
    """CPU-seconds of the engine's host processes, by (pid, group): utime + stime + the reaped
    children's cutime + cstime (proc(5) fields 14-17)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[tuple[int, str], float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        group = (
            "docker-proxy"
            if comm == "docker-proxy"
            else "engine"
            if comm.startswith(ENGINE_PROCESSES)
            else ""
        )
        if group:
            fields = stat[stat.rindex(")") + 2 :].split()
            found[(int(entry.name), group)] = sum(int(v) for v in fields[11:15]) / tick
    return found


def container_cpu(container: Container) -> float:
    """CPU-seconds a container has used: its cgroup (v1 or v2), else the engine's stats."""
    cid = container.id
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    for v2 in (
        Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat"),
        Path(f"/sys/fs/cgroup/docker/{cid}/cpu.stat"),
    ):
        if v2.exists():
            usage = re.search(r"^usage_usec (\d+)", v2.read_text(), re.MULTILINE)
            if usage:
                return int(usage.group(1)) / 1e6
    return int(container.stats(stream=False)["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9


@dataclass(frozen=True)
class Target:
    """What a mode deployed: the public URL and the names of the containers to account."""

    url: str
    hub: str
    proxy: str
    user_prefix: str
    # The stack's other long-running containers on the spawn path (the Docker API proxy, the
    # firewall), accounted together as "services"; the stock hub has none.
    services: tuple[str, ...] = ()


@dataclass
class CpuSnapshot:
    containers: dict[str, tuple[str, float]]  # container id -> (group, CPU-seconds)
    processes: dict[tuple[int, str], float]


def running(engine: docker.DockerClient) -> dict[str, str]:
    """Name -> id of the running containers, from the list call alone: the engine is shared, and
    inspecting each one (docker-py's `containers.list`) fails when another test removes one."""
    return {c["Names"][0].lstrip("/"): c["Id"] for c in engine.api.containers() if c.get("Names")}


def cpu_snapshot(engine: docker.DockerClient, target: Target) -> CpuSnapshot:
    containers: dict[str, tuple[str, float]] = {}
    for name, cid in running(engine).items():
        group = {target.hub: "hub", target.proxy: "proxy", **dict.fromkeys(target.services, "services")}.get(
            name, ""
        )
        if not group and name.startswith(target.user_prefix):
            group = "users"
        if group:
            try:
                containers[cid] = (group, container_cpu(engine.containers.get(cid)))
            except (OSError, docker.errors.NotFound):
                continue
    return CpuSnapshot(containers, _process_cpu())


def cpu_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU-seconds by group between two snapshots (what appeared in between started at 0)."""
    used = dict.fromkeys(GROUPS, 0.0)
    for cid, (group, seconds) in after.containers.items():
        used[group] += seconds - before.containers.get(cid, (group, 0.0))[1]
    for key, seconds in after.processes.items():
        used[key[1]] += seconds - before.processes.get(key, 0.0)
    return used


# --- a person logging in -------------------------------------------------------------------------
def login_until_ready(
    url: str, name: str, password: str, gate: threading.Barrier, *, ca_file: Path | None = None
) -> float:
    """Seconds from submitting the login form until the lab page has loaded and the server's
    API answers 200, as this person's browser would get there (trusting `ca_file` if given)."""
    user = HubUser(url, name)
    if ca_file is not None:
        user.trusting(ca_file)
    xsrf = user.open_login_form()
    gate.wait(timeout=120)
    started = time.monotonic()
    response = user.submit_login(xsrf, password)
    if response.status_code >= 400 or "/hub/login" in response.url:
        raise HubError(f"login of {name}: HTTP {response.status_code} at {response.url}")
    deadline = started + READY_TIMEOUT
    if CLIENT == "poll":
        poll_lab(user, name, deadline)
    elif f"/user/{escape(name)}/" not in response.url:
        user.wait_spawned(READY_TIMEOUT)
        lab = user.server_get("lab")
        while lab.status_code != 200 or f"/user/{escape(name)}/lab" not in lab.url:
            if time.monotonic() > deadline:
                raise HubError(f"lab of {name}: HTTP {lab.status_code} at {lab.url}")
            time.sleep(0.2)
            lab = user.server_get("lab")
    status = user.server_get("api/status")
    while status.status_code != 200:
        if time.monotonic() > deadline:
            raise HubError(f"api/status of {name}: HTTP {status.status_code}")
        time.sleep(0.2)
        status = user.server_get("api/status")
    return time.monotonic() - started


def poll_lab(user: HubUser, name: str, deadline: float) -> None:
    """Ask for /user/<name>/lab every CLIENT_POLL_SECONDS until the answer is the lab itself (until
    then the hub answers with its spawn-pending page)."""
    lab_path = f"/user/{escape(name)}/lab"
    while True:
        lab = user.server_get("lab")
        if lab.status_code == 200 and urlsplit(lab.url).path == lab_path:
            return
        if time.monotonic() > deadline:
            raise HubError(f"lab of {name}: HTTP {lab.status_code} at {lab.url}")
        time.sleep(CLIENT_POLL_SECONDS)


@dataclass
class Result:
    mode: str
    users: int
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    create_spread: float | None = None
    idle_mib: float | None = None
    note: str = ""


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value at least `fraction` of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@contextmanager
def watching_creates(
    engine: docker.DockerClient, prefix: str, kind: str = "container"
) -> Iterator[list[float]]:
    """The engine's `create` events of user containers (or, `kind="service"` on a Swarm
    manager, services) while the block runs (followed live: the engine keeps only its last 256
    events for a later query, fewer than a busy burst makes)."""
    stream = engine.events(filters={"type": kind, "event": "create"}, decode=True)
    times: list[float] = []

    def follow() -> None:
        try:
            for event in stream:
                if event["Actor"]["Attributes"].get("name", "").startswith(prefix):
                    times.append(event["timeNano"] / 1e9)
        except Exception:  # the stream closed under us: the block is over
            pass

    threading.Thread(target=follow, daemon=True).start()
    try:
        yield times
    finally:
        stream.close()


def spread(times: list[float]) -> float | None:
    """Seconds between the first and the last create: how the hub spread them out."""
    return max(times) - min(times) if len(times) > 1 else None


def burst(
    engine: docker.DockerClient, target: Target, names: list[str], password: str, result: Result
) -> None:
    """Everyone logs in at once; latencies, CPU by group, create spread and idle memory."""
    gate = threading.Barrier(len(names))
    before = cpu_snapshot(engine, target)
    with (
        watching_creates(engine, target.user_prefix) as creates,
        ThreadPoolExecutor(max_workers=len(names)) as pool,
    ):
        result.latencies = list(pool.map(lambda n: login_until_ready(target.url, n, password, gate), names))
    after = cpu_snapshot(engine, target)
    result.cpu = {group: seconds / len(names) for group, seconds in cpu_used(before, after).items()}
    result.create_spread = spread(creates)
    log(f"{result.mode}: all {len(names)} ready, max {max(result.latencies):.1f} s; settling")
    if LOG_DIR is not None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        (LOG_DIR / f"{result.mode}-hub.log").write_bytes(
            engine.containers.get(target.hub).logs(timestamps=True)
        )
    time.sleep(SETTLE_SECONDS)
    servers = [name for name in running(engine) if name.startswith(target.user_prefix)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        result.idle_mib = statistics.median(pool.map(lambda n: memory_mib(engine, n), servers))


# --- the modes -----------------------------------------------------------------------------------
def user_names(count: int) -> list[str]:
    return [f"user{i}" for i in range(count)]


def stack_target(stack: str, url: str) -> Target:
    prefix = f"jhub-{stack}"
    return Target(
        url=url,
        hub=f"{prefix}-hub",
        proxy=f"{prefix}-proxy",
        user_prefix=f"{prefix}-user-",
        services=(f"{prefix}-docker-api", f"{prefix}-firewall"),
    )


def stack_extra(users: int) -> dict[str, Any]:
    """Config for this project's stacks in the burst: room for all N at once. On 2 cores the
    hub's derived limits (20 concurrent spawns; servers fitting in 90 % of the memory at their
    memLimit) would turn some of 30 people away, and the burst measures latency, not limits."""
    spawner = {
        "memLimit": "1G",
        "startTimeout": 300,
        "concurrentSpawnLimit": users,
        "activeServerLimit": users,
    }
    return {"spawner": spawner, **HUB_EXTRA}


def run_cold(engine: docker.DockerClient, workdir: Path, users: int) -> Result:
    result = Result("cold", users)
    spec, deployer = throwaway_stack(workdir, extra=stack_extra(users))
    try:
        log(f"cold: deploying {spec.name}")
        outputs = deployer.up(spec)
        burst(engine, stack_target(spec.name, outputs["url"]), user_names(users), PASSWORD, result)
    finally:
        deployer.destroy(spec)
    return result


def prestart_available() -> bool:
    """Whether this checkout has the stack setting `workshop.prestart`."""
    workshop = StackConfig.model_fields.get("workshop")
    if workshop is None:
        return False
    candidates = [workshop.annotation, *typing.get_args(workshop.annotation)]
    return any("prestart" in getattr(model, "model_fields", {}) for model in candidates)


def run_prestarted(engine: docker.DockerClient, workdir: Path, users: int) -> Result | None:
    if not prestart_available():
        print("prestarted: not available (workshop.prestart missing)")
        return None
    result = Result("prestarted", users)
    names = user_names(users)
    admin_password = "bench-admin-" + secrets.token_hex(16)
    spec, deployer = throwaway_stack(
        workdir,
        auth={"type": "shared-password", "allowedUsers": names, "admins": [ADMIN]},
        extra={"workshop": {"prestart": True}, **stack_extra(users)},
        secret_config={"auth.adminPassword": admin_password},
    )
    try:
        log(f"prestarted: deploying {spec.name}")
        outputs = deployer.up(spec)
        up_done = time.monotonic()
        admin = HubUser(outputs["url"], ADMIN)
        admin.login(admin_password)
        deadline = up_done + READY_TIMEOUT
        while True:
            listed = admin.api("GET", "users").json()
            ready = [u["name"] for u in listed if ((u.get("servers") or {}).get("") or {}).get("ready")]
            if set(names) <= set(ready):
                break
            if time.monotonic() > deadline:
                raise HubError(f"prestart: {len(ready)} of {users} servers running after {READY_TIMEOUT} s")
            time.sleep(1)
        result.note = f"all {users} running {time.monotonic() - up_done:.0f} s after `up` returned"
        log(f"prestarted: {result.note}")
        burst(engine, stack_target(spec.name, outputs["url"]), names, PASSWORD, result)
    finally:
        deployer.destroy(spec)
    return result


# What the stock reference sets beyond JupyterHub's and DockerSpawner's defaults, and why.
STOCK_CONFIG = """\
import os
# Shared-password login, like the stack it is compared with; everyone may log in.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["BENCH_PASSWORD"]
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = os.environ["BENCH_NOTEBOOK_IMAGE"]
# The user servers join the hub's network and are reached at their address on it.
c.DockerSpawner.network_name = os.environ["BENCH_NETWORK"]
c.DockerSpawner.use_internal_ip = True
# A prefix of this run's own, so the cleanup removes nothing else on the shared engine.
c.DockerSpawner.prefix = os.environ["BENCH_PREFIX"]
# The hub listens on its network; the user servers call it back by the container's name.
c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"
c.JupyterHub.hub_connect_url = "http://" + os.environ["BENCH_HUB"] + ":8081"
# The proxy runs in its own container (the hub image has no node): the stack's proxy image.
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = "http://" + os.environ["BENCH_PROXY"] + ":8001"
# The defaults (60 s / 30 s) fail spawns of a large burst on 2 cores: the same as the stack's.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
"""


def build_images(engine: docker.DockerClient) -> tuple[str, str]:
    """This project's hub and default notebook images, built as the program builds them (the
    engine's build cache makes this instant after a stack deploy)."""
    ca = extra_ca_file()
    images = ImagesConfig(base=TEST_IMAGES["base"], ca_certificates_file=str(ca) if ca else None)
    args = common_build_args(images, PROJECT_DIR)
    refs = []
    for context, build_args in (
        ("hub", args),
        ("notebook", {**args, "JUPYTERHUB_VERSION": hub_jupyterhub_version(PROJECT_DIR)}),
    ):
        tag = f"jhub-bench-stock-{context}:{context_hash(PROJECT_DIR / context, 'Dockerfile', build_args)}"
        log(f"stock: building {tag}")
        engine.images.build(path=str(PROJECT_DIR / context), tag=tag, buildargs=build_args, rm=True)
        refs.append(tag)
    return refs[0], refs[1]


@contextmanager
def stock_hub(engine: docker.DockerClient, workdir: Path) -> Iterator[Target]:
    run = f"jhub-bench-stock-{secrets.token_hex(2)}"
    hub_image, notebook_image = build_images(engine)
    token = secrets.token_hex(32)
    config = workdir / "stock_jupyterhub_config.py"
    config.write_text(STOCK_CONFIG)
    port = free_port()
    made: list[Container] = []
    network = engine.networks.create(f"{run}-net", driver="bridge")
    target = Target(
        url=f"http://127.0.0.1:{port}", hub=f"{run}-hub", proxy=f"{run}-proxy", user_prefix=f"{run}-user-"
    )
    try:
        made.append(
            engine.containers.run(
                TEST_IMAGES["proxy"],
                [
                    "--ip=0.0.0.0",
                    "--port=8000",
                    "--api-ip=0.0.0.0",
                    "--api-port=8001",
                    f"--default-target=http://{target.hub}:8081",
                    f"--error-target=http://{target.hub}:8081/hub/error",
                ],
                name=target.proxy,
                environment={"CONFIGPROXY_AUTH_TOKEN": token},
                network=network.name,
                ports={"8000/tcp": ("127.0.0.1", port)},
                detach=True,
            )
        )
        made.append(
            engine.containers.run(
                hub_image,
                ["jupyterhub", "--config", "/bench/jupyterhub_config.py"],
                name=target.hub,
                environment={
                    "BENCH_PASSWORD": PASSWORD,
                    "BENCH_NOTEBOOK_IMAGE": notebook_image,
                    "BENCH_NETWORK": network.name,
                    "BENCH_PREFIX": f"{run}-user",
                    "BENCH_HUB": target.hub,
                    "BENCH_PROXY": target.proxy,
                    "CONFIGPROXY_AUTH_TOKEN": token,
                },
                volumes={
                    str(config): {"bind": "/bench/jupyterhub_config.py", "mode": "ro"},
                    "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                },
                network=network.name,
                detach=True,
            )
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{target.url}/hub/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"stock hub not healthy after 120 s:\n{made[-1].logs(tail=30).decode()}")
            time.sleep(0.5)
        yield target
    finally:
        for container in engine.containers.list(all=True, filters={"name": f"^{run}-"}):
            container.remove(force=True)
        network.remove()


def run_stock(engine: docker.DockerClient, workdir: Path, users: int) -> Result:
    result = Result("stock", users)
    with stock_hub(engine, workdir) as target:
        burst(engine, target, user_names(users), PASSWORD, result)
    return result


def run_swarm(engine: docker.DockerClient, workdir: Path, users: int) -> Result:
    # Imported here: bench.swarm_burst builds on this module's helpers. LOG_DIR and HUB_EXTRA go
    # as arguments: run as `python -m bench.burst`, this module is __main__, and the bench.burst that
    # bench.swarm_burst imports is another copy, whose globals main() never set.
    from bench.swarm_burst import run_swarm as run

    return run(engine, workdir, users, LOG_DIR, HUB_EXTRA)


MODES: dict[str, Callable[[docker.DockerClient, Path, int], Result | None]] = {
    "cold": run_cold,
    "prestarted": run_prestarted,
    "stock": run_stock,
    # Not in the default --modes: it starts a nested three-node swarm (~40 s) and deploys on it
    # (~90 s). See bench/swarm_burst.py for what it can and cannot measure there.
    "swarm": run_swarm,
}


def table(results: list[Result]) -> str:
    lines = [
        "| mode | users | p50 s | p95 s | max s | CPU-s per spawn: hub / proxy / user server / "
        "API proxy + firewall / engine (+ docker-proxy) = total | user creates spread over | "
        "idle MiB per server |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        # A group a mode could not measure honestly is missing from r.cpu: "-", and so is the total.
        cpu = {group: f"{r.cpu[group]:.2f}" if group in r.cpu else "-" for group in GROUPS}
        total = f"{sum(r.cpu.values()):.2f}" if all(group in r.cpu for group in GROUPS) else "-"
        spread = f"{r.create_spread:.1f} s" if r.create_spread is not None else "-"
        idle = f"{r.idle_mib:.0f}" if r.idle_mib is not None else "-"
        p50, p95 = statistics.median(r.latencies), percentile(r.latencies, 0.95)
        lines.append(
            f"| {r.mode} | {r.users} | {p50:.1f} | {p95:.1f} | {max(r.latencies):.1f} | "
            f"{cpu['hub']} / {cpu['proxy']} / {cpu['users']} / {cpu['services']} / "
            f"{cpu['engine']} (+ {cpu['docker-proxy']}) = {total} | {spread} | {idle} |"
        )
    notes = [f"- {r.mode}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=30, help="people logging in at once")
    parser.add_argument(
        "--modes", default="cold,prestarted,stock", help="comma-separated: " + ", ".join(MODES)
    )
    parser.add_argument(
        "--hub-extra-config",
        help="JSON given to this project's stacks (cold, prestarted, swarm) as hub.extraConfig, "
        'e.g. \'{"QueuedDockerSpawner": {"boot_slots": 8}}\'',
    )
    parser.add_argument("--logs", type=Path, help="save each mode's hub log (timestamped) here")
    parser.add_argument(
        "--client",
        choices=("progress", "poll"),
        default="progress",
        help="progress: follow the spawn's progress as the spawn-pending page does; poll: ask for "
        f"the lab URL every {CLIENT_POLL_SECONDS} s until it answers (not the swarm mode)",
    )
    args = parser.parse_args()
    global LOG_DIR, CLIENT
    LOG_DIR = args.logs
    CLIENT = args.client
    if args.hub_extra_config:
        HUB_EXTRA["hub"] = {"extraConfig": json.loads(args.hub_extra_config)}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")

    engine = docker.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="jhub-bench-burst-"))
    results: list[Result] = []
    try:
        for mode in modes:
            result = MODES[mode](engine, workdir, args.users)
            if result is not None:
                results.append(result)
                log(table([result]).splitlines()[2])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"{os.cpu_count()} cores, load average before the last mode: {os.getloadavg()[0]:.2f}; "
        f"client: {CLIENT}"
    )
    print(table(results))


if __name__ == "__main__":
    main()
