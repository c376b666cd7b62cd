"""Refuse a notebook image whose JupyterHub major version differs from the hub's.

jupyterhub-singleuser talks to the hub's REST API and OAuth endpoints; across major versions
that protocol is not guaranteed, and the failure shows up only at spawn time as a timeout.
"""

import json
import os
import subprocess
import sys

image = os.environ["JHUB_IMAGE"]
expected = os.environ["JHUB_EXPECTED_VERSION"]
# Set only for images built from this project's own notebook/ context, whose Dockerfile installs
# jupyterhub==$JUPYTERHUB_VERSION and labels the image with that same build arg: reading the
# label (one inspect) is then as good as asking Python inside the image (a container start, about
# half a second more on every first `up`). Any other image is asked; so is one without the label.
label = os.environ.get("JHUB_VERSION_LABEL", "")
found = ""
if label:
    template = "{{ index .Config.Labels " + json.dumps(label) + " }}"
    inspected = subprocess.run(
        ["docker", "image", "inspect", "--format", template, image],
        capture_output=True,
        text=True,
    )
    value = inspected.stdout.strip() if inspected.returncode == 0 else ""
    found = "" if value == "<no value>" else value
if not found:
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
