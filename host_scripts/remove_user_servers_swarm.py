"""remove_user_servers.py under Swarm (orchestrator: swarm, docs/swarm.md "Destroy on every
node"): the destroy-time cleanup of the stack's user servers and, unless the stack keeps its
data, their home volumes, selected by the stack's labels.

The servers are services spread over the nodes and the homes are `local` volumes of whichever
node ran them, while this script reaches only the manager: it removes the services, waits until
their tasks are gone, then runs a `global` service (JHUB_NODE_CLEANUP_SCRIPT, with each node's
socket) that cleans every node, and removes it again once each node's task has said it is done.
A script of its own rather than a branch in remove_user_servers.py: the script's text is a
registered input, which stacks on one engine keep unchanged.

Not a `global-job` (API 1.41), which would fit better: on Engine 20.10 removing a job service
leaves its completed tasks in the swarm's store and their containers on every node for good
(moby #42789, #44312; seen on the test swarm). A task of a plain service that keeps running
until it is removed is reaped like any other; a health check says when it is done.
"""

import json
import os
import subprocess
import sys
import time


def docker(*args: str) -> list[str]:
    return docker_text(*args).split()


def docker_text(*args: str) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        # The cleanup service's arguments carry its whole script: name it, not quote it.
        shown = " ".join(arg if len(arg) < 200 else "<script>" for arg in args)
        sys.exit(f"docker {shown} failed: {result.stderr.strip()}")
    return result.stdout


def role_labels(role: str) -> list[str]:
    """`key=value` of the stack's labels and the role's."""
    stack = [f.removeprefix("label=") for f in json.loads(os.environ["JHUB_LABEL_FILTERS"])]
    return [*stack, f"{os.environ['JHUB_ROLE_LABEL']}={role}"]


def selector(role: str) -> list[str]:
    return [arg for label in role_labels(role) for arg in ("--filter", f"label={label}")]


# Seconds for each wait: the removed services' tasks to be gone, the cleanup to be done.
SWARM_TIMEOUT = float(os.environ.get("JHUB_SWARM_TIMEOUT", "120"))
# Seconds to wait for every node's line in the cleanup's logs (the counts) once it is done.
LOGS_TIMEOUT = 20.0
# Task states after which a cleanup task will not become healthy (moby api/types/swarm/task.go).
ENDED = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
# What the node's task creates when it is done; the health check looks for it.
DONE_FILE = "/tmp/jhub-cleanup-done"


def tasks_in_store(task_ids: list[str]) -> list[str]:
    """Which of the tasks the manager still has: a removed service's task stays until its node
    has shut its container down (the task reaper then deletes it)."""
    if not task_ids:
        return []
    result = subprocess.run(
        ["docker", "inspect", "--type", "task", "--format", "{{.ID}} {{.Status.State}}", *task_ids],
        capture_output=True,
        text=True,
    )
    errors = [line for line in result.stderr.splitlines() if line.strip() and "not found" not in line]
    if errors:
        sys.exit(f"docker inspect --type task failed: {' '.join(errors)}")
    # A task not found prints an empty line.
    return [line for line in result.stdout.splitlines() if line.strip()]


def remove_and_wait(services: list[str], what: str) -> None:
    """Remove the services and wait until the manager has reaped their tasks (their containers
    are then gone on every node that answers)."""
    tasks = docker("service", "ps", "-q", "--no-trunc", *services) if services else []
    if services:
        docker("service", "rm", *services)
    deadline = time.monotonic() + SWARM_TIMEOUT
    while True:
        remaining = tasks_in_store(tasks)
        on_manager = docker("ps", "-q", *selector("user-server"))
        if not remaining and not on_manager:
            return
        if time.monotonic() > deadline:
            sys.exit(
                f"{what} still running {SWARM_TIMEOUT:.0f} s after their services were removed: "
                f"tasks {remaining}, user server containers on the manager {on_manager}"
            )
        time.sleep(1)


def nodes() -> dict[str, dict[str, str]]:
    """Every node: its hostname, whether it is ready and whether it takes tasks."""
    ids = docker("node", "ls", "-q")
    described = json.loads(docker_text("node", "inspect", *ids))
    return {
        n["ID"]: {
            "hostname": n["Description"]["Hostname"],
            "state": n["Status"]["State"],
            "availability": n["Spec"]["Availability"],
        }
        for n in described
    }


def remove_leftover(name: str) -> None:
    """The cleanup service of a destroy that was killed while it ran, if there is one."""
    # Absent is the usual case: inspect answers non-zero, which is no error here.
    found = subprocess.run(["docker", "service", "inspect", name], capture_output=True, text=True)
    if found.returncode == 0:
        remove_and_wait([name], "the cleanup of an earlier destroy")


def task_states(name: str) -> list[tuple[str, dict[str, str]]]:
    ids = docker("service", "ps", "-q", "--no-trunc", name)
    tasks = json.loads(docker_text("inspect", "--type", "task", *ids)) if ids else []
    return [(str(task["NodeID"]), task["Status"]) for task in tasks]


def cleanup_logs(name: str) -> str:
    result = subprocess.run(["docker", "service", "logs", "--raw", name], capture_output=True, text=True)
    return result.stdout + result.stderr


def fail(name: str, message: str) -> None:
    logs = cleanup_logs(name)
    remove_and_wait([name], "the cleanup")
    sys.exit(f"{message}\n{logs}")


def run_cleanup(name: str, eligible: dict[str, dict[str, str]]) -> None:
    """Create the global cleanup service and wait until every eligible node's task is done."""
    labels = role_labels("cleanup")
    environment = {
        "JHUB_NODE": "{{.Node.Hostname}}",  # Swarm expands the template in each task
        "JHUB_CONTAINER_LABELS": json.dumps(role_labels("user-server")),
        "JHUB_DONE_FILE": DONE_FILE,
    }
    if os.environ.get("JHUB_KEEP_DATA") != "true":
        environment["JHUB_VOLUME_LABELS"] = json.dumps(role_labels("user-home"))
    docker(
        "service", "create", "--detach", "--name", name, "--mode", "global",
        "--restart-condition", "none", "--user", "0",
        # The image is on every node already (a notebook image, by digest): asking a registry
        # for its digest again is slow or impossible without internet access.
        "--no-resolve-image",
        *[arg for label in labels for arg in ("--label", label)],
        *[arg for label in labels for arg in ("--container-label", label)],
        "--mount", "type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock",
        *[arg for key, value in environment.items() for arg in ("--env", f"{key}={value}")],
        # A task is `running` only once healthy: here, once the node is clean. The retries
        # outlast the node's own retries of a volume in use.
        "--health-cmd", f"test -e {DONE_FILE}", "--health-interval", "1s", "--health-timeout", "5s",
        "--health-retries", str(int(SWARM_TIMEOUT)),
        "--entrypoint", "python3", os.environ["JHUB_CLEANUP_IMAGE"],
        "-c", os.environ["JHUB_NODE_CLEANUP_SCRIPT"],
    )  # fmt: skip
    deadline = time.monotonic() + SWARM_TIMEOUT
    while True:
        states = {}
        for node, status in task_states(name):
            if status["State"] in ENDED:
                hostname = eligible.get(node, {}).get("hostname", node)
                error = status.get("Err") or status.get("Message")
                fail(name, f"the cleanup on node {hostname} {status['State']}: {error}")
            states[node] = status["State"]
        if all(states.get(node) == "running" for node in eligible):
            return
        if time.monotonic() > deadline:
            waiting = {n["hostname"]: states.get(node, "no task") for node, n in eligible.items()}
            fail(name, f"the cleanup was not done on every node in {SWARM_TIMEOUT:.0f} s: {waiting}")
        time.sleep(1)


def report(name: str, eligible: dict[str, dict[str, str]]) -> None:
    """Each node's counts, from the line its task printed."""
    expected = {n["hostname"] for n in eligible.values()}
    deadline = time.monotonic() + LOGS_TIMEOUT
    while True:
        lines = {}
        for line in cleanup_logs(name).splitlines():
            try:
                counts = json.loads(line)
            except ValueError:
                continue
            if isinstance(counts, dict) and "node" in counts:
                lines[counts["node"]] = counts
        if set(lines) >= expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    for hostname in sorted(expected):
        counts = lines.get(hostname)
        if counts is None:
            print(f"node {hostname}: cleaned (its counts did not reach the service's logs)")
        elif counts["volumes"] is None:
            print(f"node {hostname}: removed {counts['containers']} container(s), kept the home volumes")
        else:
            print(
                f"node {hostname}: removed {counts['containers']} container(s), "
                f"{counts['volumes']} home volume(s)"
            )


def remove_on_every_node() -> None:
    services = docker("service", "ls", "-q", *selector("user-server"))
    remove_and_wait(services, "user servers")
    print(f"removed {len(services)} user server service(s)")
    every = nodes()
    eligible = {i: n for i, n in every.items() if n["state"] == "ready" and n["availability"] == "active"}
    for node in every.values():
        if node["state"] != "ready" or node["availability"] != "active":
            print(
                f"node {node['hostname']} is {node['state']}/{node['availability']}: "
                "its leftover servers and homes are not removed"
            )
    name = os.environ["JHUB_CLEANUP_NAME"]
    remove_leftover(name)
    run_cleanup(name, eligible)
    report(name, eligible)
    remove_and_wait([name], "the cleanup")
    if os.environ.get("JHUB_KEEP_DATA") == "true":
        print("keepData is set: users' home volumes are kept")


remove_on_every_node()
