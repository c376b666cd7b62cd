"""workshop.prestart, after `up`: start every listed user's server. The work happens inside the
hub container (hub/prestart.py), which holds the prestart service's token and reaches the hub's
API on its own loopback, the same on a local and a remote Docker host."""

import os
import subprocess
import sys

result = subprocess.run(
    ["docker", "exec", os.environ["JHUB_HUB_CONTAINER"], "python", "-m", "hub.prestart"],
    capture_output=True,
    text=True,
)
sys.stderr.write(result.stderr)
if result.returncode != 0:
    sys.exit(f"workshop.prestart failed (exit {result.returncode}): {result.stdout.strip()}")
print(result.stdout.strip())
