"""Refuse a notebook image whose JupyterHub major version differs from the hub's.

jupyterhub-singleuser talks to the hub's REST API and OAuth endpoints; across major versions
that protocol is not guaranteed, and the failure shows up only at spawn time as a timeout.
"""

import os
import subprocess
import sys

image = os.environ["JHUB_IMAGE"]
expected = os.environ["JHUB_EXPECTED_VERSION"]
probe = "import jupyterhub; print(jupyterhub.__version__)"
result = subprocess.run(
    ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", probe],
    capture_output=True,
    text=True,
)
if result.returncode != 0:
    sys.exit(
        f"notebook image {image}: cannot read its JupyterHub version "
        f"(python3 -c 'import jupyterhub' failed: {result.stderr.strip()[-500:]})"
    )
found = result.stdout.strip()
if found.split(".")[0] != expected.split(".")[0]:
    sys.exit(
        f"notebook image {image} has JupyterHub {found}, the hub has {expected}: "
        "the major versions must match (rebuild the image with jupyterhub=="
        f"{expected.split('.')[0]}.*)"
    )
print(f"notebook image {image}: JupyterHub {found} matches the hub's {expected}")
