"""Readiness of one of the stack's containers: return once a probe run inside it succeeds (the
firewall has written its rules, the registry answers), and fail at once, with the container's
last log lines, if it exits or restarts.

What `pulumi up` waits for instead of the provider's `wait` on a healthcheck, which the engine
reports only after a whole interval and keeps running for as long as the container lives
(components/firewall.py, components/registry.py). Asked through the
stack's docker CLI settings (on a remote host too), every tenth of a second: each try is an
inspect and an exec, which take longer than the pause between them.
"""

import json
import os
import subprocess
import sys
import time

POLL_SECONDS = 0.1
container = os.environ["JHUB_CONTAINER"]
probe = json.loads(os.environ["JHUB_PROBE"])
what = os.environ.get("JHUB_WHAT", "ready")
timeout = float(os.environ.get("JHUB_READY_TIMEOUT", "60"))


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True)


def last_logs():
    logs = docker("logs", "--tail", "30", container)
    return (logs.stdout + logs.stderr)[-3000:]


started = time.monotonic()
while time.monotonic() - started < timeout:
    state = docker("container", "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", container)
    status, _, restarts = state.stdout.strip().partition(" ")
    if state.returncode == 0 and (status not in ("running", "created") or restarts not in ("0", "")):
        sys.exit(
            f"the container {container} is {status} (restarted {restarts} times), so it cannot be "
            f"{what}. Its last log lines:\n{last_logs()}"
        )
    if status == "running" and docker("exec", container, *probe).returncode == 0:
        print(f"{container}: {what} after {time.monotonic() - started:.1f}s")
        sys.exit(0)
    time.sleep(POLL_SECONDS)
sys.exit(f"{container} was not {what} within {timeout:.0f}s. Its last log lines:\n{last_logs()}")
