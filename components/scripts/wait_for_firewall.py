"""Readiness of the users network's firewall: return once it has written the stack's rules
(firewall/reconcile.py touches its APPLIED file then), so the hub, created after this, never runs
a server without them; fail at once, with the firewall's last log lines, if it exits or restarts.

What `pulumi up` waits for instead of the provider's `wait` on a healthcheck, which the engine
reports only after a whole interval and keeps running for as long as the container lives
(components/firewall.py). Asked every quarter second, through the stack's docker CLI settings.
"""

import os
import subprocess
import sys
import time

POLL_SECONDS = 0.25
firewall = os.environ["JHUB_FIREWALL_CONTAINER"]
applied = os.environ["JHUB_FIREWALL_APPLIED"]
timeout = float(os.environ.get("JHUB_READY_TIMEOUT", "60"))


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True)


started = time.monotonic()
while time.monotonic() - started < timeout:
    state = docker("container", "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", firewall)
    status, _, restarts = state.stdout.strip().partition(" ")
    if state.returncode == 0 and (status not in ("running", "created") or restarts not in ("0", "")):
        logs = docker("logs", "--tail", "30", firewall)
        sys.exit(
            f"the firewall container {firewall} is {status} (restarted {restarts} times): the stack's "
            f"rules cannot be written. Its last log lines:\n{(logs.stdout + logs.stderr)[-3000:]}"
        )
    if status == "running" and docker("exec", firewall, "test", "-f", applied).returncode == 0:
        print(f"firewall rules written after {time.monotonic() - started:.1f}s")
        sys.exit(0)
    time.sleep(POLL_SECONDS)
logs = docker("logs", "--tail", "30", firewall)
sys.exit(
    f"the firewall {firewall} did not write the stack's rules within {timeout:.0f}s. "
    f"Its last log lines:\n{(logs.stdout + logs.stderr)[-3000:]}"
)
