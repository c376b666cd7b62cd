"""Before anything is created: reach the Docker engine, and say plainly why not if we cannot.

For an ssh:// host it runs `docker version` on the host through ssh with the stack's own ssh
configuration (pinned host key), so a wrong host key, an unknown user, an unreachable host and a
user without access to Docker each get their own message.

The last line of its output is the engine's platform (`platform linux/amd64`): images are built
for it, not for the machine running Pulumi.
"""

import os
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


if result.returncode == 0:
    server_version, platform = result.stdout.split()
    if os.environ.get("JHUB_ORCHESTRATOR") == "swarm":
        check_swarm_manager()
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
