"""Before anything is created: reach the Docker engine, and say plainly why not if we cannot.

For an ssh:// host it runs `docker version` on the host through ssh with the stack's own ssh
configuration (pinned host key), so a wrong host key, an unknown user, an unreachable host and a
user without access to Docker each get their own message.

The last line of its output is the engine's platform (`platform linux/amd64`): images are built
for it, not for the machine running Pulumi.
"""

import os
import re
import shlex
import subprocess
import sys

host = os.environ["DOCKER_HOST"]
target = os.environ.get("JHUB_SSH_TARGET")
version = ["docker", "version", "--format", "{{.Server.Version}} {{.Server.Os}}/{{.Server.Arch}}"]
# Over ssh the remote shell parses the command line: quote it.
port = os.environ.get("JHUB_SSH_PORT", "22")
argv = ["ssh", "-p", port, target, shlex.join(version)] if target else version
try:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
except subprocess.TimeoutExpired:
    sys.exit(f"dockerHost {host}: no answer within 60 s (is the host reachable?)")


def check_swarm_manager() -> None:
    """orchestrator: swarm: the engine must be an active Swarm manager, or nothing is created
    (services can only be created through a manager)."""
    info = ["docker", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"]
    answer = subprocess.run(
        ["ssh", "-p", port, target, shlex.join(info)] if target else info,
        capture_output=True,
        text=True,
        timeout=60,
    )
    state, _, manager = answer.stdout.strip().partition(" ")
    if answer.returncode != 0:
        sys.exit(
            f"dockerHost {host}: reading the engine's Swarm state failed: {answer.stderr.strip()[-400:]}"
        )
    if state != "active" or manager != "true":
        role = "a worker, not a manager" if state == "active" else f"not in a swarm (state: {state})"
        sys.exit(
            f"dockerHost {host}: orchestrator is swarm, but this engine is {role}. Point dockerHost "
            "at a manager (`docker node ls` on one lists them), run `docker swarm init` there first, "
            "or remove the orchestrator setting to deploy to this engine alone."
        )


def _docker(argv: list[str]) -> subprocess.CompletedProcess[str]:
    command = ["docker", *argv]
    return subprocess.run(
        ["ssh", "-p", port, target, shlex.join(command)] if target else command,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _prefix(stack: str) -> str:
    # components/naming.py `StackNames.prefix`: every Docker object of a stack starts with it.
    return "jhub-" + re.sub(r"[^a-z0-9_.-]", "-", stack.lower())


def check_stack_names() -> None:
    """No other stack of this project on the engine has a name that can collide with this
    one's. Names are `jhub-<stack>-<part>`, so the stacks `a` and `a-home` would share names: a
    user `data` of `a` has the home `jhub-a-home-data`, the hub database volume of `a-home`.
    Checked before anything is created, from the stack labels of what is on the engine."""
    stack, project = os.environ.get("JHUB_STACK"), os.environ.get("JHUB_PROJECT")
    if not stack or not project:
        return
    label = f"label=org.jupyterhub-docker.project={project}"
    others: set[str] = set()
    for kind in ("container", "volume", "network"):
        listing = _docker(
            [
                kind,
                "ls",
                *(["-a"] if kind == "container" else []),
                "--filter",
                label,
                "--format",
                '{{.Label "org.jupyterhub-docker.stack"}}',
            ]
        )
        if listing.returncode != 0:
            sys.exit(
                f"dockerHost {host}: listing the engine's {kind}s failed: {listing.stderr.strip()[-400:]}"
            )
        others |= {line.strip() for line in listing.stdout.splitlines() if line.strip()}
    mine = _prefix(stack)
    for other in sorted(others - {stack}):
        theirs = _prefix(other)
        if theirs == mine or theirs.startswith(mine + "-") or mine.startswith(theirs + "-"):
            sys.exit(
                f"stack name {stack!r}: the stack {other!r} on this engine has Docker object names "
                f"that can collide with this one's ({mine}-... and {theirs}-...: one user's home or "
                f"server could take a name of the other stack's). Nothing was created. Choose another "
                f"name: on one engine, no stack's name may be another's followed by '-' and more "
                f"(`pulumi stack rename <name>`)."
            )


if result.returncode == 0:
    server_version, platform = result.stdout.split()
    if os.environ.get("JHUB_ORCHESTRATOR") == "swarm":
        check_swarm_manager()
    check_stack_names()
    print(f"Docker {server_version} at {host}\nplatform {platform}")
    sys.exit(0)

error = result.stderr.strip()
lowered = error.lower()
unreachable = ("connection refused", "timed out", "no route to host", "could not resolve")
if "host key verification failed" in lowered or "remote host identification has changed" in lowered:
    reason = "the host's key does not match ssh.knownHosts (another host, or a changed key): not connecting"
elif "permission denied" in lowered and "docker" not in lowered:
    reason = (
        "the SSH user was refused (unknown user, or its key from ssh.privateKey/ssh-agent is not authorized)"
    )
elif any(text in lowered for text in unreachable):
    reason = "the host cannot be reached (check the address and the port, and that sshd or the engine runs)"
elif "permission denied" in lowered or "docker.sock" in lowered:
    reason = "the user cannot use Docker on the host (add it to the docker group)"
elif target and "not found" in lowered:
    reason = "Docker is not installed on the host (no `docker` command)"
else:
    reason = "the Docker engine did not answer"
sys.exit(f"dockerHost {host}: {reason}.\n{error[-800:]}")
